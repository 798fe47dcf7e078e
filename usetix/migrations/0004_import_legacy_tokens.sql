-- Tokens of the old system, kept as plain values in api_tokens (a unique index on token),
-- become credentials rows (SHA-256 digest, display prefix, kind api, tier read/read_write,
-- created_at, description and revocation kept), and the plaintext table is dropped: after
-- this no raw token is left anywhere in the database. Nothing happens without an api_tokens
-- table, so the migration is a no-op on a fresh install, and the function can be run again
-- (`usetix import-legacy-tokens`) when a dump of the old table is loaded later.
--
-- usetix_import_legacy_tokens()        imports every row, then drops api_tokens
-- usetix_import_legacy_tokens(token)   imports that one token if it is there (the gateway's
--                                      fallback while the old table still exists); the
--                                      table stays
-- Returns how many credentials were created, or NULL when there is no api_tokens table.
--
-- Under traffic: the bulk import takes the table's exclusive lock first, so a gateway's
-- one-token import waits for it rather than deadlocking with it, then finds the table gone and
-- the credential already imported. Accounts the old system knew but this one does not are
-- created (same id) so that every token keeps working. A permission other than read or
-- read_write stops the bulk import with an error: nothing is lost or widened.

CREATE FUNCTION usetix_import_legacy_tokens(only_token text DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    created bigint;
    unknown_permission text;
BEGIN
    IF to_regclass('api_tokens') IS NULL THEN
        RETURN NULL;
    END IF;
    IF only_token IS NULL THEN
        LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE;
        SELECT permission INTO unknown_permission FROM api_tokens
         WHERE permission NOT IN ('read', 'read_write') LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'api_tokens has a permission other than read or read_write: %',
                quote_literal(unknown_permission);
        END IF;
    END IF;

    WITH missing AS (
        INSERT INTO accounts (id, name)
        SELECT DISTINCT t.account_id, 'Legacy account ' || t.account_id
          FROM api_tokens AS t
         WHERE only_token IS NULL OR t.token = only_token
        ON CONFLICT (id) DO NOTHING
        RETURNING id
    )
    SELECT count(*) INTO created FROM missing;
    IF created > 0 THEN
        -- New accounts must not be handed an id the old system already used.
        PERFORM setval(pg_get_serial_sequence('accounts', 'id'), max(id)) FROM accounts;
    END IF;

    WITH imported AS (
        INSERT INTO credentials
            (account_id, kind, tier, digest, display_prefix, description, created_at,
             revoked_at)
        SELECT t.account_id, 'api', t.permission,
               sha256(convert_to(t.token, 'UTF8')),
               CASE WHEN left(t.token, 4) IN ('usx_', 'uss_') THEN left(t.token, 8)
                    ELSE left(t.token, 4) END || '…',
               coalesce(t.description, ''), t.created_at, t.revoked_at
          FROM api_tokens AS t
         WHERE (only_token IS NULL OR t.token = only_token)
           AND t.permission IN ('read', 'read_write')
        ON CONFLICT (digest) DO NOTHING
        RETURNING id, account_id, tier, description
    ), audited AS (
        INSERT INTO audit_log (account_id, actor, action, credential_id, detail)
        SELECT account_id, 'legacy-import', 'credential.import', id,
               jsonb_build_object('kind', 'api', 'tier', tier, 'description', description)
          FROM imported
        RETURNING 1
    )
    SELECT count(*) INTO created FROM audited;

    IF only_token IS NULL THEN
        DROP TABLE api_tokens;
    END IF;
    RETURN created;
EXCEPTION
    -- A bulk import committed while this one-token import waited for the table's lock.
    WHEN undefined_table THEN
        RETURN NULL;
END;
$fn$;

SELECT usetix_import_legacy_tokens();
