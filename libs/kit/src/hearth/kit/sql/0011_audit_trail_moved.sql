-- The audit trail moved to `audit.trail`, owned by the `<db>_audit` role that the database administrator's
-- bootstrap (hearth/kit/sql/bootstrap/audit.sql, `hearth audit bootstrap`) creates and that nobody logs in as:
-- this role (the schema owner) could disable the old table's trigger or drop it. The bootstrap copied the old
-- rows over; the old table goes only once that copy is certain.
DO $$
BEGIN
    IF to_regclass('audit.trail') IS NULL THEN
        RAISE EXCEPTION 'audit.trail does not exist: the database administrator must run the audit bootstrap '
            '(`hearth audit bootstrap`, hearth/kit/sql/bootstrap/audit.sql) before this migration';
    END IF;
    IF (SELECT count(*) FROM hearth_audit) > (SELECT count(*) FROM audit.trail) THEN
        RAISE EXCEPTION 'audit.trail holds fewer rows than hearth_audit: run the audit bootstrap again';
    END IF;
END;
$$;
DROP TABLE hearth_audit;
DROP FUNCTION hearth_audit_append_only();
