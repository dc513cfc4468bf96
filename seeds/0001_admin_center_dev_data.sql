-- Development data for the Admin Center: three administrators (one per
-- role), customers on every tier with payment methods, transactions, a
-- refund and audit entries. Fixed ids and ON CONFLICT DO NOTHING make it
-- idempotent: running it again changes nothing.

INSERT INTO users (id, email, auth0_id, name, given_name, family_name, email_verified, created_at) VALUES
    ('a0000000-0000-4000-8000-000000000001', 'alice.admin@example.com', 'auth0|seed-alice', 'Alice Admin', 'Alice', 'Admin', true, '2025-01-05 09:00+00'),
    ('a0000000-0000-4000-8000-000000000002', 'sam.support@example.com', 'auth0|seed-sam', 'Sam Support', 'Sam', 'Support', true, '2025-01-06 09:00+00'),
    ('a0000000-0000-4000-8000-000000000003', 'fiona.finance@example.com', 'auth0|seed-fiona', 'Fiona Finance', 'Fiona', 'Finance', true, '2025-01-07 09:00+00'),
    ('c0000000-0000-4000-8000-000000000001', 'carla.free@example.com', 'auth0|seed-carla', 'Carla Free', 'Carla', 'Free', true, '2025-02-01 10:00+00'),
    ('c0000000-0000-4000-8000-000000000002', 'peter.premium@example.com', 'auth0|seed-peter', 'Peter Premium', 'Peter', 'Premium', true, '2025-02-02 10:00+00'),
    ('c0000000-0000-4000-8000-000000000003', 'erin.enterprise@example.com', 'auth0|seed-erin', 'Erin Enterprise', 'Erin', 'Enterprise', true, '2025-02-03 10:00+00'),
    ('c0000000-0000-4000-8000-000000000004', 'dan.pastdue@example.com', 'auth0|seed-dan', 'Dan Pastdue', 'Dan', 'Pastdue', false, '2025-02-04 10:00+00'),
    ('c0000000-0000-4000-8000-000000000005', 'tina.trial@example.com', 'auth0|seed-tina', 'Tina Trial', 'Tina', 'Trial', true, '2025-03-01 10:00+00')
ON CONFLICT (id) DO NOTHING;

INSERT INTO admin_roles (id, user_id, role, granted_by, granted_at) VALUES
    ('b0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'super_admin', NULL, '2025-01-05 09:05+00'),
    ('b0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000002', 'support_admin', 'a0000000-0000-4000-8000-000000000001', '2025-01-06 09:05+00'),
    ('b0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000003', 'finance_admin', 'a0000000-0000-4000-8000-000000000001', '2025-01-07 09:05+00')
ON CONFLICT (id) DO NOTHING;

INSERT INTO subscriptions (id, user_id, tier, status, current_period_start, current_period_end, trial_start, trial_end, stripe_customer_id, stripe_subscription_id, created_at) VALUES
    ('d0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'free', 'active', NULL, NULL, NULL, NULL, NULL, NULL, '2025-02-01 10:00+00'),
    ('d0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000002', 'premium', 'active', '2025-11-02 10:00+00', '2025-12-02 10:00+00', NULL, NULL, 'cus_seed_peter', 'sub_seed_peter', '2025-02-02 10:00+00'),
    ('d0000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-000000000003', 'enterprise', 'active', '2025-11-03 10:00+00', '2025-12-03 10:00+00', NULL, NULL, 'cus_seed_erin', 'sub_seed_erin', '2025-02-03 10:00+00'),
    ('d0000000-0000-4000-8000-000000000004', 'c0000000-0000-4000-8000-000000000004', 'premium', 'past_due', '2025-10-04 10:00+00', '2025-11-04 10:00+00', NULL, NULL, 'cus_seed_dan', 'sub_seed_dan', '2025-02-04 10:00+00'),
    ('d0000000-0000-4000-8000-000000000005', 'c0000000-0000-4000-8000-000000000005', 'premium', 'trialing', NULL, NULL, '2025-11-20 10:00+00', '2025-12-04 10:00+00', 'cus_seed_tina', 'sub_seed_tina', '2025-11-20 10:00+00')
ON CONFLICT (id) DO NOTHING;

INSERT INTO payment_methods (id, user_id, type, stripe_payment_method_id, card_brand, card_last4, card_exp_month, card_exp_year, is_default, status, created_at, updated_at) VALUES
    ('e0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000002', 'card', 'pm_seed_peter_visa', 'visa', '4242', 12, 2028, true, 'active', '2025-02-02 10:05+00', '2025-02-02 10:05+00'),
    ('e0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000003', 'card', 'pm_seed_erin_amex', 'amex', '0005', 6, 2027, true, 'active', '2025-02-03 10:05+00', '2025-02-03 10:05+00'),
    ('e0000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-000000000003', 'card', 'pm_seed_erin_mc', 'mastercard', '4444', 3, 2029, false, 'active', '2025-06-10 09:00+00', '2025-06-10 09:00+00'),
    ('e0000000-0000-4000-8000-000000000004', 'c0000000-0000-4000-8000-000000000004', 'card', 'pm_seed_dan_visa', 'visa', '0341', 9, 2025, true, 'expired', '2025-02-04 10:05+00', '2025-10-01 00:00+00')
ON CONFLICT (id) DO NOTHING;

INSERT INTO payment_transactions (id, user_id, subscription_id, payment_method_id, amount, currency, status, stripe_payment_intent_id, payment_method_type, payment_method_last4, failure_code, failure_message, created_at) VALUES
    ('f0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000002', 'e0000000-0000-4000-8000-000000000001', 9.99, 'USD', 'succeeded', 'pi_seed_0001', 'card', '4242', NULL, NULL, '2025-10-02 10:00+00'),
    ('f0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000002', 'd0000000-0000-4000-8000-000000000002', 'e0000000-0000-4000-8000-000000000001', 9.99, 'USD', 'succeeded', 'pi_seed_0002', 'card', '4242', NULL, NULL, '2025-11-02 10:00+00'),
    ('f0000000-0000-4000-8000-000000000003', 'c0000000-0000-4000-8000-000000000003', 'd0000000-0000-4000-8000-000000000003', 'e0000000-0000-4000-8000-000000000002', 499.00, 'USD', 'succeeded', 'pi_seed_0003', 'card', '0005', NULL, NULL, '2025-11-03 10:00+00'),
    ('f0000000-0000-4000-8000-000000000004', 'c0000000-0000-4000-8000-000000000003', 'd0000000-0000-4000-8000-000000000003', 'e0000000-0000-4000-8000-000000000002', 499.00, 'USD', 'refunded', 'pi_seed_0004', 'card', '0005', NULL, NULL, '2025-10-03 10:00+00'),
    ('f0000000-0000-4000-8000-000000000005', 'c0000000-0000-4000-8000-000000000004', 'd0000000-0000-4000-8000-000000000004', 'e0000000-0000-4000-8000-000000000004', 9.99, 'USD', 'failed', 'pi_seed_0005', 'card', '0341', 'expired_card', 'Your card has expired.', '2025-11-04 10:00+00')
ON CONFLICT (id) DO NOTHING;

INSERT INTO refunds (id, transaction_id, amount, currency, reason, reason_details, status, stripe_refund_id, processed_by, created_at) VALUES
    ('90000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000004', 499.00, 'USD', 'duplicate', 'Charged twice for October', 'succeeded', 're_seed_0001', 'a0000000-0000-4000-8000-000000000003', '2025-10-05 12:00+00')
ON CONFLICT (id) DO NOTHING;

INSERT INTO admin_audit_logs (id, admin_user_id, action, resource_type, resource_id, affected_user_id, details, ip_address, user_agent, created_at) VALUES
    ('80000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'role.grant', 'admin_role', 'b0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000002', '{"role": "support_admin"}', '10.0.0.10', 'Mozilla/5.0 (seed)', '2025-01-06 09:05+00'),
    ('80000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000001', 'role.grant', 'admin_role', 'b0000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000003', '{"role": "finance_admin"}', '10.0.0.10', 'Mozilla/5.0 (seed)', '2025-01-07 09:05+00'),
    ('80000000-0000-4000-8000-000000000003', 'a0000000-0000-4000-8000-000000000003', 'refund.create', 'refund', '90000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000003', '{"amount": "499.00", "reason": "duplicate"}', '10.0.0.11', 'Mozilla/5.0 (seed)', '2025-10-05 12:00+00'),
    ('80000000-0000-4000-8000-000000000004', 'a0000000-0000-4000-8000-000000000002', 'user.view', 'user', 'c0000000-0000-4000-8000-000000000004', 'c0000000-0000-4000-8000-000000000004', '{}', '10.0.0.12', 'Mozilla/5.0 (seed)', '2025-11-05 08:30+00')
ON CONFLICT (id) DO NOTHING;
