"""Raw asyncpg commit and statement rates, and pgbench on the same row for reference."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from typing import Any

import asyncpg

from .harness import Bench
from .measure import CpuMeter

ROW_SQL = "CREATE TABLE bench_rows (id bigserial PRIMARY KEY, k integer NOT NULL, payload text NOT NULL)"
ROW_INSERT = "INSERT INTO bench_rows (k, payload) VALUES ($1, $2)"
ROW_PAYLOAD = "x" * 100


async def pg_commits(b: Bench, dsn: str, connections: int, key: str) -> None:
    conns = [await asyncpg.connect(dsn) for _ in range(connections)]
    counts = [0] * connections
    seconds = b.sizes.pg_seconds
    try:
        for conn in conns:
            await conn.execute(ROW_INSERT, 0, ROW_PAYLOAD)  # prepare the statement before the clock starts
        end = time.perf_counter() + seconds

        async def run(i: int, conn: asyncpg.Connection[Any]) -> None:
            n = 0
            while time.perf_counter() < end:
                await conn.execute(ROW_INSERT, n, ROW_PAYLOAD)
                n += 1
            counts[i] = n

        meter = CpuMeter()
        await asyncio.gather(*(run(i, c) for i, c in enumerate(conns)))
        elapsed, cpu = meter.stop()
    finally:
        for conn in conns:
            await conn.close()
    b.put(key, sum(counts) / elapsed, f"autocommit, {seconds:g} s; {meter.note(elapsed, cpu, sum(counts))}")


async def pg_statements(b: Bench, dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(ROW_INSERT, 0, ROW_PAYLOAD)
        rows, meter = 0, CpuMeter()
        end = time.perf_counter() + b.sizes.pg_seconds
        while time.perf_counter() < end:
            async with conn.transaction():
                for _ in range(100):
                    await conn.execute(ROW_INSERT, rows, ROW_PAYLOAD)
                    rows += 1
        elapsed, cpu = meter.stop()
    finally:
        await conn.close()
    # The client's own CPU per statement: a handler making one round trip per event spends at least this much.
    b.put("pg.stmt.1", rows / elapsed, f"one round trip per row; {meter.note(elapsed, cpu, rows)}")


async def pgbench(b: Bench) -> None:
    binary = b.args.pgbench
    if shutil.which(binary) is None:
        raise FileNotFoundError(f"{binary} (install postgresql-15 or pass --pgbench)")
    dsn = await b.database("pgbench", kit=False, extra_sql=ROW_SQL)
    script = b.log_dir / "insert.sql"
    script.write_text(
        f"\\set k random(1, 1000000)\nINSERT INTO bench_rows (k, payload) VALUES (:k, '{ROW_PAYLOAD}');\n"
    )
    seconds = str(b.sizes.pgbench_seconds)
    n = b.args.pg_concurrency
    threads = str(min(n, os.cpu_count() or 1))
    await _pgbench(binary, "-i", "-s", "1", "-q", dsn)
    common = ["-M", "prepared", "-T", seconds]
    tps = await _pgbench(binary, "-n", *common, "-c", "1", "-j", "1", "-f", str(script), dsn)
    b.put("pgbench.insert.1", tps, f"-M prepared -T {seconds}")
    tps = await _pgbench(binary, "-n", *common, "-c", str(n), "-j", threads, "-f", str(script), dsn)
    b.put("pgbench.insert.n", tps, f"-M prepared -T {seconds} -j {threads}")
    tps = await _pgbench(binary, *common, "-c", str(n), "-j", threads, dsn)
    b.put("pgbench.tpcb.n", tps, f"scale 1, -M prepared -T {seconds} -j {threads}")


async def _pgbench(*argv: str) -> float:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"pgbench exited with {proc.returncode}: {text.strip()[-300:]}")
    if argv[1] == "-i":
        return 0.0
    match = re.search(r"tps = ([0-9.]+)", text)
    if match is None:
        raise RuntimeError(f"no tps in pgbench's output: {text.strip()[-300:]}")
    return float(match[1])
