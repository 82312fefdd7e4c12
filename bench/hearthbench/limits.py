"""The limits of the machine: raw Kafka and raw Postgres, the figures every kit figure is compared with."""

from __future__ import annotations

import functools

from .harness import Bench
from .raw_kafka import raw_kafka, raw_latency
from .raw_postgres import ROW_SQL, pg_commits, pg_statements, pgbench


async def limits(b: Bench) -> None:
    topic = f"bench-{b.run_id}-raw"
    await b.attempt(["kafka.produce", "kafka.consume"], "raw Kafka", lambda: raw_kafka(b, topic))
    dsn = await b.database("limits", kit=False, extra_sql=ROW_SQL)
    await b.attempt(["pg.commit.1"], "raw Postgres, 1 connection", lambda: pg_commits(b, dsn, 1, "pg.commit.1"))
    n = b.args.pg_concurrency
    await b.attempt(["pg.commit.n"], f"raw Postgres, {n} connections", lambda: pg_commits(b, dsn, n, "pg.commit.n"))
    await b.attempt(["pg.stmt.1"], "raw Postgres statements", lambda: pg_statements(b, dsn))
    keys = ["pgbench.insert.1", "pgbench.insert.n", "pgbench.tpcb.n"]
    await b.attempt(keys, "pgbench", lambda: pgbench(b))
    if "outbox" not in b.args.only:  # else measured at the rate of the relay latency run
        rate = b.args.outbox_rate or 1000.0
        raw = functools.partial(raw_latency, b, rate, "kafka.lat")
        await b.attempt(["kafka.lat.p50", "kafka.lat.p99"], f"raw Kafka latency at {rate:,.0f}/s", raw)
