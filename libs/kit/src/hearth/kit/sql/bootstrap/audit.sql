-- The audit trail's own owner, schema, table and append function. Run by the database administrator (a
-- superuser) connected to the service's database: when the database is created, and again after an upgrade of
-- this file (it is idempotent). Migrations cannot do it: they run as the schema owner, and the point is that
-- neither the owner nor the runtime role can alter, disable or drop the trail.
--
--   <db>_audit   NOLOGIN, no password: owns schema `audit`, its table, trigger and functions. No process and no
--                configuration holds a credential for it; only an administrator could act as it.
--   <db>         the runtime role: reads the trail and appends through audit.append() (SECURITY DEFINER); it has
--                no INSERT, UPDATE, DELETE or TRUNCATE on the table and owns nothing in the schema.
--   <db>_owner   the migration role: reads the trail. Owning the database and schema `public` gives it nothing
--                here: ALTER, DISABLE TRIGGER and DROP need ownership of the table or of its schema.
--
-- Role names follow the database name unless hearth.runtime_role / hearth.owner_role / hearth.audit_role are
-- set for the session (PGOPTIONS='-c hearth.runtime_role=...').  Rows of an older `public.hearth_audit` are
-- copied once, hashes and sequence numbers unchanged, so the chain carries on; kit migration 0011 then drops it.
DO $bootstrap$
DECLARE
    runtime_role text := coalesce(nullif(current_setting('hearth.runtime_role', true), ''), current_database());
    owner_role text := coalesce(nullif(current_setting('hearth.owner_role', true), ''), current_database() || '_owner');
    audit_role text := coalesce(nullif(current_setting('hearth.audit_role', true), ''), current_database() || '_audit');
    reader text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = audit_role) THEN
        EXECUTE format('CREATE ROLE %I NOLOGIN', audit_role);
    END IF;
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS audit AUTHORIZATION %I', audit_role);
    EXECUTE format('REVOKE ALL ON SCHEMA audit FROM PUBLIC');

    -- Everything below belongs to the audit role.
    EXECUTE format('SET LOCAL ROLE %I', audit_role);

    -- seq has no gaps: append() numbers rows head + 1 under a lock (a sequence would skip numbers on rollback).
    CREATE TABLE IF NOT EXISTS audit.trail (
        seq bigint PRIMARY KEY CHECK (seq > 0),
        at timestamptz NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        entity text NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        prev_hash text NOT NULL,
        hash text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
    );

    CREATE OR REPLACE FUNCTION audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
    BEGIN
        RAISE EXCEPTION 'audit.trail is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
    END;
    $fn$;
    CREATE OR REPLACE TRIGGER trail_no_update BEFORE UPDATE OR DELETE ON audit.trail
        FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
    CREATE OR REPLACE TRIGGER trail_no_truncate BEFORE TRUNCATE ON audit.trail
        FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();

    -- The only way in: the caller computes the row's hash (hearth.kit.audit.row_hash) over the head it read under
    -- the same lock; append refuses a row that does not chain onto the head.
    CREATE OR REPLACE FUNCTION audit.append(
        p_at timestamptz, p_actor text, p_action text, p_entity text, p_details jsonb, p_prev_hash text, p_hash text
    ) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
        head_seq bigint;
        head_hash text;
    BEGIN
        PERFORM pg_advisory_xact_lock(1635083369);  -- 0x61756469 "audi", the lock hearth.kit.audit takes
        SELECT t.seq, t.hash INTO head_seq, head_hash FROM audit.trail t ORDER BY t.seq DESC LIMIT 1;
        IF p_prev_hash IS DISTINCT FROM coalesce(head_hash, repeat('0', 64)) THEN
            RAISE EXCEPTION 'audit.append refused: prev_hash is not the hash of the head of the chain'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        INSERT INTO audit.trail (seq, at, actor, action, entity, details, prev_hash, hash)
            VALUES (coalesce(head_seq, 0) + 1, p_at, p_actor, p_action, p_entity, p_details, p_prev_hash, p_hash);
        RETURN coalesce(head_seq, 0) + 1;
    END;
    $fn$;
    REVOKE ALL ON FUNCTION audit.append(timestamptz, text, text, text, jsonb, text, text) FROM PUBLIC;

    -- A transaction's rows in one call: the lock, the head and the rows in one round trip, so the lock every
    -- change of the service waits on is held for this call and the COMMIT only. The caller sends each row's
    -- canonical JSON without its first element (`p_rest`: `"<at>","<actor>",...]`, hearth.kit.audit.canonical_rest);
    -- the hash is sha256 of '["<prev_hash>",' || p_rest, the same bytes hearth.kit.audit.row_hash hashes, so
    -- `verify` checks rows of both functions alike. Rows chain onto the head read under the lock: a caller cannot
    -- chain onto anything else.
    CREATE OR REPLACE FUNCTION audit.append_all(
        p_at timestamptz[], p_actor text[], p_action text[], p_entity text[], p_details jsonb[], p_rest bytea[]
    ) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
        head_seq bigint;
        head_hash text;
        next_hash text;
        n integer := coalesce(array_length(p_rest, 1), 0);
    BEGIN
        IF n = 0 THEN
            RETURN NULL;
        END IF;
        IF array_length(p_at, 1) IS DISTINCT FROM n OR array_length(p_actor, 1) IS DISTINCT FROM n
           OR array_length(p_action, 1) IS DISTINCT FROM n OR array_length(p_entity, 1) IS DISTINCT FROM n
           OR array_length(p_details, 1) IS DISTINCT FROM n THEN
            RAISE EXCEPTION 'audit.append_all refused: arrays of different lengths'
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        PERFORM pg_advisory_xact_lock(1635083369);  -- the lock of audit.append and hearth.kit.audit
        SELECT t.seq, t.hash INTO head_seq, head_hash FROM audit.trail t ORDER BY t.seq DESC LIMIT 1;
        head_seq := coalesce(head_seq, 0);
        head_hash := coalesce(head_hash, repeat('0', 64));
        FOR i IN 1 .. n LOOP
            next_hash := encode(sha256(convert_to('["' || head_hash || '",', 'UTF8') || p_rest[i]), 'hex');
            INSERT INTO audit.trail (seq, at, actor, action, entity, details, prev_hash, hash)
                VALUES (head_seq + i, p_at[i], p_actor[i], p_action[i], p_entity[i], p_details[i], head_hash, next_hash);
            head_hash := next_hash;
        END LOOP;
        RETURN head_seq + n;
    END;
    $fn$;
    REVOKE ALL ON FUNCTION audit.append_all(timestamptz[], text[], text[], text[], jsonb[], bytea[]) FROM PUBLIC;

    RESET ROLE;

    IF to_regclass('public.hearth_audit') IS NOT NULL AND NOT EXISTS (SELECT FROM audit.trail) THEN
        INSERT INTO audit.trail (seq, at, actor, action, entity, details, prev_hash, hash)
            SELECT seq, at, actor, action, entity, details, prev_hash, hash FROM public.hearth_audit ORDER BY seq;
    END IF;

    FOREACH reader IN ARRAY ARRAY[runtime_role, owner_role] LOOP
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = reader) THEN
            EXECUTE format('GRANT USAGE ON SCHEMA audit TO %I', reader);
            EXECUTE format('GRANT SELECT ON audit.trail TO %I', reader);
        END IF;
    END LOOP;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = runtime_role) THEN
        EXECUTE format(
            'GRANT EXECUTE ON FUNCTION audit.append(timestamptz, text, text, text, jsonb, text, text) TO %I',
            runtime_role
        );
        EXECUTE format(
            'GRANT EXECUTE ON FUNCTION audit.append_all(timestamptz[], text[], text[], text[], jsonb[], bytea[]) TO %I',
            runtime_role
        );
    END IF;
END;
$bootstrap$;
