-- Records a consumer could not accept, kept whole in the transaction that settled their neighbours, and
-- published to `<service>.dlq` afterwards (like the outbox).  One letter per origin record: a batch read again
-- after a restart or a restore finds the letter already there.  Replay re-processes the stored record in this
-- service, so nothing written to the DLQ topic by anyone else can be replayed.
CREATE TABLE hearth_dead_letters (
    id bigserial PRIMARY KEY,
    consumer text NOT NULL,
    origin_topic text NOT NULL,
    origin_partition integer NOT NULL,
    origin_offset bigint NOT NULL,
    record_key bytea,
    record_value bytea,
    header_keys text[] NOT NULL DEFAULT '{}',
    header_values bytea[] NOT NULL DEFAULT '{}',
    reason text NOT NULL,
    error text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at timestamptz,
    publish_error text,
    replayed_at timestamptz,
    replay_outcome text,
    UNIQUE (consumer, origin_topic, origin_partition, origin_offset)
);
CREATE INDEX hearth_dead_letters_pending ON hearth_dead_letters (id) WHERE published_at IS NULL AND publish_error IS NULL;

-- A digest of the record each event id was first applied from: the same id again with other bytes is not a
-- redelivery but a conflicting duplicate, and is dead-lettered instead of dropped.
ALTER TABLE hearth_inbox ADD COLUMN payload_sha256 bytea;
