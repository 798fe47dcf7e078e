-- Accounts, their admin users, credentials (hashed at rest) and the audit log.

CREATE TABLE accounts (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL CHECK (name <> ''),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    account_id     bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    email          text NOT NULL CHECK (email <> ''),
    password_hash  text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- Only the SHA-256 digest of a token is kept; the raw value is never stored.
CREATE TABLE credentials (
    id                    bigserial PRIMARY KEY,
    account_id            bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind                  text NOT NULL CHECK (kind IN ('api', 'scanner')),
    tier                  text NOT NULL CHECK (tier IN ('read', 'read_write')),
    digest                bytea NOT NULL CHECK (octet_length(digest) = 32),
    display_prefix        text NOT NULL,
    description           text NOT NULL DEFAULT '',
    created_by            bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    last_used_at          timestamptz,
    last_used_address     text,
    last_used_user_agent  text,
    revoked_at            timestamptz
);
CREATE UNIQUE INDEX credentials_digest_key ON credentials (digest);
CREATE INDEX credentials_account_idx ON credentials (account_id, created_at);

-- Any change that can end or narrow a credential is pushed to every gateway, whoever made
-- it (admin UI, CLI, or plain SQL). last_used_* updates do not count.
CREATE FUNCTION credentials_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('usetix_credentials', '*');
        RETURN NULL;
    END IF;
    PERFORM pg_notify('usetix_credentials', encode(OLD.digest, 'hex'));
    IF TG_OP = 'UPDATE' AND NEW.digest IS DISTINCT FROM OLD.digest THEN
        PERFORM pg_notify('usetix_credentials', encode(NEW.digest, 'hex'));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER credentials_notify_update
    AFTER UPDATE ON credentials
    FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.tier IS DISTINCT FROM NEW.tier
          OR OLD.kind IS DISTINCT FROM NEW.kind
          OR OLD.account_id IS DISTINCT FROM NEW.account_id
          OR OLD.digest IS DISTINCT FROM NEW.digest)
    EXECUTE FUNCTION credentials_notify_change();

CREATE TRIGGER credentials_notify_delete
    AFTER DELETE ON credentials
    FOR EACH ROW EXECUTE FUNCTION credentials_notify_change();

CREATE TRIGGER credentials_notify_truncate
    AFTER TRUNCATE ON credentials
    FOR EACH STATEMENT EXECUTE FUNCTION credentials_notify_change();

-- Who created, revoked or paired which credential, when and from where. Never a raw token.
CREATE TABLE audit_log (
    id              bigserial PRIMARY KEY,
    account_id      bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    actor           text NOT NULL,
    action          text NOT NULL,
    credential_id   bigint REFERENCES credentials (id) ON DELETE SET NULL,
    client_address  text,
    detail          jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_account_idx ON audit_log (account_id, created_at DESC);
