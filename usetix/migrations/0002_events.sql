-- Events, their tickets and check-ins: the upstream app's data.
--
-- Rows have a bigserial key for joins and an opaque public id (prefix + random base62) for
-- URLs and JSON, so ids reveal neither counts nor order and cannot be guessed. account_id is
-- repeated on tickets and check-ins so that every lookup is scoped by account in one index
-- probe; composite foreign keys keep the copies consistent with the parent row.

CREATE TABLE events (
    id          bigserial PRIMARY KEY,
    public_id   text NOT NULL UNIQUE CHECK (public_id ~ '^evt_[0-9A-Za-z]{20}$'),
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name        text NOT NULL CHECK (name <> ''),
    starts_at   timestamptz NOT NULL,
    venue       text NOT NULL,
    capacity    integer NOT NULL CHECK (capacity >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, account_id)
);
CREATE INDEX events_account_idx ON events (account_id, starts_at);

CREATE TABLE tickets (
    id           bigserial PRIMARY KEY,
    public_id    text NOT NULL UNIQUE CHECK (public_id ~ '^tkt_[0-9A-Za-z]{20}$'),
    account_id   bigint NOT NULL,
    event_id     bigint NOT NULL,
    holder_name  text NOT NULL CHECK (holder_name <> ''),
    -- What the door scans: unique across all accounts, so a code names one ticket.
    code         text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9]{16}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, account_id),
    FOREIGN KEY (event_id, account_id) REFERENCES events (id, account_id) ON DELETE CASCADE
);
CREATE INDEX tickets_event_idx ON tickets (event_id, created_at);

-- At most one check-in per ticket: the unique ticket_id is what turns a second scan into 409.
CREATE TABLE checkins (
    id               bigserial PRIMARY KEY,
    public_id        text NOT NULL UNIQUE CHECK (public_id ~ '^chk_[0-9A-Za-z]{20}$'),
    account_id       bigint NOT NULL,
    ticket_id        bigint NOT NULL UNIQUE,
    checked_in_at    timestamptz NOT NULL DEFAULT now(),
    -- Which credential scanned it; kind is kept too so the record survives the credential.
    credential_kind  text NOT NULL CHECK (credential_kind IN ('api', 'scanner')),
    credential_id    bigint REFERENCES credentials (id) ON DELETE SET NULL,
    FOREIGN KEY (ticket_id, account_id) REFERENCES tickets (id, account_id) ON DELETE CASCADE
);
