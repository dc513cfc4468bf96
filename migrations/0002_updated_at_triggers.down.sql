DROP TRIGGER IF EXISTS trg_users_updated_at ON users;
DROP TRIGGER IF EXISTS trg_subscriptions_updated_at ON subscriptions;
DROP TRIGGER IF EXISTS trg_payment_methods_updated_at ON payment_methods;
DROP TRIGGER IF EXISTS trg_payment_transactions_updated_at ON payment_transactions;
DROP TRIGGER IF EXISTS trg_refunds_updated_at ON refunds;
DROP TRIGGER IF EXISTS trg_admin_roles_updated_at ON admin_roles;
DROP FUNCTION IF EXISTS set_updated_at();
