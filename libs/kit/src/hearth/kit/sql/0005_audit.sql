-- Append-only, hash-chained audit log: who did what to which record, when.  Each row stores the hash of the
-- previous one, so an edit or a deletion breaks the chain at a row that `hearth audit verify` names; the
-- trigger refuses UPDATE and DELETE outright (only a superuser disabling it can get past).
CREATE TABLE hearth_audit (
    seq bigserial PRIMARY KEY,
    at timestamptz NOT NULL,
    actor text NOT NULL,
    action text NOT NULL,
    entity text NOT NULL,
    details jsonb NOT NULL DEFAULT '{}'::jsonb,
    prev_hash text NOT NULL,
    hash text NOT NULL
);

CREATE FUNCTION hearth_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'hearth_audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER hearth_audit_no_update BEFORE UPDATE OR DELETE ON hearth_audit
    FOR EACH ROW EXECUTE FUNCTION hearth_audit_append_only();
CREATE TRIGGER hearth_audit_no_truncate BEFORE TRUNCATE ON hearth_audit
    FOR EACH STATEMENT EXECUTE FUNCTION hearth_audit_append_only();
