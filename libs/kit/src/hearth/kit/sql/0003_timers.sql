-- Durable timers: a row with a due time, fired (and deleted) in the transaction that writes its effects.
CREATE TABLE hearth_timers (
    key text PRIMARY KEY,
    kind text NOT NULL,
    due_at timestamptz NOT NULL,
    payload jsonb NOT NULL,
    correlation_id text,
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hearth_timers_due ON hearth_timers (due_at);
