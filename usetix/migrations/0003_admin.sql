-- Admin UI: server-side browser sessions and scanner pairing codes.

-- One row per logged-in browser. The cookie holds a random id; only its SHA-256 is kept, so a
-- database leak cannot be replayed as cookies. Logout deletes the row, which is what makes a
-- replayed old cookie worthless.
CREATE TABLE admin_sessions (
    id_digest   bytea PRIMARY KEY CHECK (octet_length(id_digest) = 32),
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    data        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX admin_sessions_expires_idx ON admin_sessions (expires_at);
CREATE INDEX admin_sessions_user_idx ON admin_sessions (user_id);

-- A pairing code is `<selector>-<secret>`: the selector finds the row (so failed guesses can
-- be counted against one code and burn it), only the digest of the whole code is kept.
CREATE TABLE pairing_codes (
    id               bigserial PRIMARY KEY,
    account_id       bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    selector         text NOT NULL,
    code_digest      bytea NOT NULL CHECK (octet_length(code_digest) = 32),
    description      text NOT NULL DEFAULT '',
    created_by       bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    failed_attempts  integer NOT NULL DEFAULT 0,
    used_at          timestamptz,
    credential_id    bigint REFERENCES credentials (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX pairing_codes_selector_key ON pairing_codes (selector);
