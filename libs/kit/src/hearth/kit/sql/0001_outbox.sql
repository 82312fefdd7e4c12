-- Events staged in the same transaction as the state change that caused them; the relay publishes them in id
-- order (commit order per key, since a key's rows are written by transactions that serialise on its state).
CREATE TABLE hearth_outbox (
    id bigserial PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    topic text NOT NULL,
    key text NOT NULL,
    event_type text NOT NULL,
    payload bytea NOT NULL,
    headers jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    sent_at timestamptz
);
CREATE INDEX hearth_outbox_pending ON hearth_outbox (id) WHERE sent_at IS NULL;
CREATE INDEX hearth_outbox_sent ON hearth_outbox (sent_at) WHERE sent_at IS NOT NULL;
