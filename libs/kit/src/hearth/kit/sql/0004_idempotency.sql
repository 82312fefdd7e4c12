-- The first response to an HTTP command, stored in the command's own transaction and replayed for a repeat of
-- the same Idempotency-Key by the same caller.
CREATE TABLE hearth_idempotency (
    principal text NOT NULL,
    key text NOT NULL,
    request_hash text NOT NULL,
    status_code integer NOT NULL,
    response jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);
CREATE INDEX hearth_idempotency_created ON hearth_idempotency (created_at);
