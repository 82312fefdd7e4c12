"""A hearth subscriber in Python: read registered topics, store each event once, commit only after storing.

    pip install "hearth-contracts>=1.1,<2" "aiokafka>=0.14"
    eval "$(hearth subscribers credentials <name>)"   # or the lines your operator gave you
    python subscriber.py --store events.db screening.approved.v1 session.session-completed.v1

Settings come from the environment, as `hearth subscribers add|credentials` print them: HEARTH_KAFKA_BOOTSTRAP,
HEARTH_KAFKA_SECURITY_PROTOCOL (SASL_SSL), HEARTH_KAFKA_SASL_MECHANISM (SCRAM-SHA-512), HEARTH_KAFKA_USERNAME,
HEARTH_KAFKA_PASSWORD, HEARTH_KAFKA_CA_FILE, HEARTH_TOPIC_PREFIX and HEARTH_GROUP_ID (inside your group prefix,
`<prefix><name>.`). Each event is stored with its id as the primary key, in the same SQLite transaction as a
record of the offset; the Kafka offset is committed after that transaction, so a crash re-delivers and the
duplicate is ignored. A record that is not a valid hearth event is parked in the `unreadable` table, never
skipped in silence. Every event stored is also printed as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import ssl
import sys

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from hearth.contracts import ContractError, parse_event

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT, subject TEXT, time TEXT, minor INTEGER, data TEXT);
CREATE TABLE IF NOT EXISTS unreadable (topic TEXT, partition INTEGER, "offset" INTEGER, error TEXT,
                                       PRIMARY KEY (topic, partition, "offset"));
"""


def consumer_from_environment(topics: list[str]) -> AIOKafkaConsumer:
    env = os.environ
    prefix = env.get("HEARTH_TOPIC_PREFIX", "")
    return AIOKafkaConsumer(
        *(prefix + topic for topic in topics),
        bootstrap_servers=env["HEARTH_KAFKA_BOOTSTRAP"],
        security_protocol=env.get("HEARTH_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
        sasl_mechanism=env.get("HEARTH_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
        sasl_plain_username=env["HEARTH_KAFKA_USERNAME"],
        sasl_plain_password=env["HEARTH_KAFKA_PASSWORD"],
        ssl_context=ssl.create_default_context(cafile=env.get("HEARTH_KAFKA_CA_FILE")),  # verifies the host name
        group_id=env["HEARTH_GROUP_ID"],
        enable_auto_commit=False,  # the offset moves only once the event is stored
        auto_offset_reset="earliest",  # a new group starts from the oldest event the topic still holds
    )


def store(db: sqlite3.Connection, record: ConsumerRecord[bytes, bytes]) -> dict[str, object] | None:
    """Store one record in one transaction; the stored event, or None for a duplicate or an unreadable record."""
    with db:  # one transaction: commits on success, rolls back on an exception
        try:
            event = parse_event(record.value or b"")
        except ContractError as error:  # error.field names what is wrong
            db.execute(
                "INSERT OR IGNORE INTO unreadable VALUES (?, ?, ?, ?)",
                (record.topic, record.partition, record.offset, str(error)[:500]),
            )
            return None
        minor = int(event.dataschema.rpartition("minor=")[2] or 0) if "minor=" in event.dataschema else 0
        row = (str(event.id), event.type, event.subject, event.time.isoformat(), minor, event.data.model_dump_json())
        inserted = db.execute("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?)", row).rowcount
    return {"id": row[0], "type": row[1], "subject": row[2], "minor": minor} if inserted else None


async def run(topics: list[str], db: sqlite3.Connection, idle_seconds: float | None) -> int:
    consumer = consumer_from_environment(topics)
    await consumer.start()
    stored, idle, seen_any = 0, 0.0, False
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            idle = 0.0 if batch else idle + 1.0
            # Idle time counts from the first record on (joining the group takes a moment); 30 s at most before it.
            if idle_seconds is not None and idle >= (idle_seconds if seen_any else 30):
                return stored
            seen_any = seen_any or bool(batch)
            for tp, records in batch.items():
                for record in records:
                    if (event := store(db, record)) is not None:
                        stored += 1
                        print(json.dumps(event), flush=True)
                await consumer.commit({TopicPartition(tp.topic, tp.partition): records[-1].offset + 1})
    finally:
        await consumer.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topics", nargs="+", help="catalog topics, e.g. screening.approved.v1 (no prefix)")
    parser.add_argument("--store", default="events.db", help="SQLite file of stored events")
    parser.add_argument("--idle-seconds", type=float, help="stop after this long without a record, once one came")
    args = parser.parse_args()
    db = sqlite3.connect(args.store)
    db.executescript(SCHEMA)
    stored = asyncio.run(run(args.topics, db, args.idle_seconds))
    print(f"{stored} event(s) stored in {args.store}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
