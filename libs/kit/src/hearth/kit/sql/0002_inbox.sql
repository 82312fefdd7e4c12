-- One row per consumed event, written in the transaction of its effects: a redelivery finds the row and does
-- nothing.  The consumer name lets several subscriptions of one service consume the same event independently.
CREATE TABLE hearth_inbox (
    consumer text NOT NULL,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    topic text NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset bigint NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX hearth_inbox_processed ON hearth_inbox (processed_at);
