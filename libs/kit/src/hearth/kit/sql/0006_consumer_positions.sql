-- Where each consumer stands on each partition: the offset of the next record to read, written in the same
-- transaction as the effects of the records before it.  On start and on every partition assignment the consumer
-- seeks here, so a database restored from a backup rewinds the service to exactly where its state was and Kafka
-- redelivers the rest; Kafka's committed offsets are kept for lag tooling only.
CREATE TABLE hearth_consumer_positions (
    consumer text NOT NULL,
    topic text NOT NULL,
    kafka_partition integer NOT NULL,
    next_offset bigint NOT NULL CHECK (next_offset >= 0),
    updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (consumer, topic, kafka_partition)
);
