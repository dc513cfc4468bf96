-- Admin Center schema: the tables of the Database Configuration Guide with
-- their keys, checks and the guide's indexes (exact names). The tables are new
-- here, so plain CREATE INDEX is right: nothing else can be using them yet.

CREATE TABLE users (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email           text NOT NULL CHECK (email LIKE '%_@_%'),
    auth0_id        text,
    name            text,
    given_name      text,
    family_name     text,
    picture_url     text,
    locale          text,
    email_verified  boolean NOT NULL DEFAULT false,
    last_login_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subscriptions (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                 uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tier                    text NOT NULL CHECK (tier IN ('free', 'premium', 'enterprise')),
    status                  text NOT NULL CHECK (status IN ('active', 'trialing', 'past_due',
                                'canceled', 'incomplete', 'incomplete_expired', 'unpaid', 'paused')),
    current_period_start    timestamptz,
    current_period_end      timestamptz,
    cancel_at_period_end    boolean NOT NULL DEFAULT false,
    canceled_at             timestamptz,
    trial_start             timestamptz,
    trial_end               timestamptz,
    stripe_customer_id      text,
    stripe_subscription_id  text UNIQUE,
    metadata                jsonb NOT NULL DEFAULT '{}',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (current_period_end IS NULL OR current_period_start IS NULL
           OR current_period_end >= current_period_start)
);

CREATE TABLE payment_methods (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type                      text NOT NULL CHECK (type IN ('card', 'bank_account', 'paypal')),
    stripe_payment_method_id  text UNIQUE,
    card_brand                text,
    card_last4                text CHECK (card_last4 ~ '^[0-9]{4}$'),
    card_exp_month            smallint CHECK (card_exp_month BETWEEN 1 AND 12),
    card_exp_year             smallint CHECK (card_exp_year BETWEEN 2000 AND 2100),
    billing_details           jsonb NOT NULL DEFAULT '{}',
    is_default                boolean NOT NULL DEFAULT false,
    status                    text NOT NULL DEFAULT 'active'
                                  CHECK (status IN ('active', 'expired', 'removed')),
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE payment_transactions (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                   uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    subscription_id           uuid REFERENCES subscriptions (id) ON DELETE SET NULL,
    payment_method_id         uuid REFERENCES payment_methods (id) ON DELETE SET NULL,
    amount                    numeric(12, 2) NOT NULL CHECK (amount >= 0),
    currency                  text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    status                    text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed',
                                  'refunded', 'partially_refunded', 'disputed')),
    stripe_payment_intent_id  text UNIQUE,
    stripe_charge_id          text,
    payment_method_type       text,
    payment_method_last4      text,
    failure_code              text,
    failure_message           text,
    receipt_url               text,
    metadata                  jsonb NOT NULL DEFAULT '{}',
    created_at                timestamptz NOT NULL DEFAULT now(),
    updated_at                timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE refunds (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    transaction_id    uuid NOT NULL REFERENCES payment_transactions (id) ON DELETE RESTRICT,
    amount            numeric(12, 2) NOT NULL CHECK (amount > 0),
    currency          text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    reason            text NOT NULL CHECK (reason IN ('customer_request', 'duplicate',
                          'fraudulent', 'service_issue', 'other')),
    reason_details    text,
    status            text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'canceled')),
    stripe_refund_id  text UNIQUE,
    processed_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    failure_reason    text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE admin_roles (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role        text NOT NULL CHECK (role IN ('super_admin', 'support_admin', 'finance_admin')),
    granted_by  uuid REFERENCES users (id) ON DELETE SET NULL,
    granted_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    is_active   boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, role),
    CHECK (is_active OR revoked_at IS NOT NULL)
);

CREATE TABLE admin_audit_logs (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    admin_user_id     uuid NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    action            text NOT NULL,
    resource_type     text NOT NULL,
    resource_id       text,
    affected_user_id  uuid REFERENCES users (id) ON DELETE SET NULL,
    details           jsonb NOT NULL DEFAULT '{}',
    ip_address        inet,
    user_agent        text,
    created_at        timestamptz NOT NULL DEFAULT now()
);

-- The guide's indexes, names exact. Email and Auth0 id identify a user, so
-- these two are unique.
CREATE UNIQUE INDEX idx_users_email ON users (email);
CREATE UNIQUE INDEX idx_users_auth0_id ON users (auth0_id);
CREATE INDEX idx_subscriptions_user_id ON subscriptions (user_id);
CREATE INDEX idx_subscriptions_status ON subscriptions (status);
CREATE INDEX idx_subscriptions_tier ON subscriptions (tier);
CREATE INDEX idx_payment_transactions_user_id ON payment_transactions (user_id);
CREATE INDEX idx_payment_transactions_status ON payment_transactions (status);
CREATE INDEX idx_payment_transactions_created_at ON payment_transactions (created_at DESC);
CREATE INDEX idx_admin_audit_logs_admin_user_id ON admin_audit_logs (admin_user_id);
CREATE INDEX idx_admin_audit_logs_created_at ON admin_audit_logs (created_at DESC);

-- Every other foreign key gets an index too, so deleting a user or a
-- transaction never scans the referencing table.
CREATE INDEX idx_payment_methods_user_id ON payment_methods (user_id);
CREATE UNIQUE INDEX idx_payment_methods_one_default ON payment_methods (user_id) WHERE is_default;
CREATE INDEX idx_payment_transactions_subscription_id ON payment_transactions (subscription_id);
CREATE INDEX idx_payment_transactions_payment_method_id ON payment_transactions (payment_method_id);
CREATE INDEX idx_refunds_transaction_id ON refunds (transaction_id);
CREATE INDEX idx_refunds_processed_by ON refunds (processed_by);
CREATE INDEX idx_admin_roles_granted_by ON admin_roles (granted_by);
CREATE INDEX idx_admin_audit_logs_affected_user_id ON admin_audit_logs (affected_user_id);
