-- Removes the Admin Center schema and all its data.
DROP TABLE IF EXISTS admin_audit_logs, admin_roles, refunds, payment_transactions,
    payment_methods, subscriptions, users;
