"""`make demo`: the whole system on this machine — local Kafka and Postgres, the four services as processes —
and N synthetic patients through it, with a live funnel and the books balanced at the end.

    hearth-demo [--patients 200] [--seed 7] [--arrival 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from hearth.kit.testing import launcher

from .event_counter import EventCounter
from .funnel import event_counts_table, live_view, make_progress, simulator_table
from .reconcile import reconcile
from .run import Run, cast, drive, make_stack, service_kafka_env, settle
from .timings import Timings

console = Console()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="hearth-demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--arrival", type=float, default=20.0, help="seconds over which patients arrive")
    args = parser.parse_args(argv)
    try:
        sys.exit(asyncio.run(demo(args.patients, args.seed, args.arrival)))
    except KeyboardInterrupt:
        console.print("[yellow]stopped[/yellow]")
        sys.exit(130)


async def demo(patients: int, seed: int, arrival: float) -> int:
    script = launcher.load()
    infra: Any = script.LocalInfra(script.DEFAULT_STATE_DIR)
    console.print("[bold]starting local Kafka and Postgres[/bold] (deploy/local/infra.py)")
    await asyncio.to_thread(infra.attach)
    try:
        return await _run(infra, patients, seed, arrival)
    finally:
        stopped = await asyncio.to_thread(infra.detach)
        console.print("local Kafka and Postgres " + ("stopped" if stopped else "left running (make up, or in use)"))


async def _run(infra: Any, patients: int, seed: int, arrival: float) -> int:
    # This process creates topics and ACLs and reads every topic: it is the admin; the services are not.
    os.environ.update(
        infra.kafka_env() if hasattr(infra, "kafka_env") else {"HEARTH_KAFKA_BOOTSTRAP": infra.kafka_bootstrap}
    )
    timings = Timings()
    prefix = f"demo-{time.strftime('%Y%m%d-%H%M%S')}."
    log_dir = Path(infra.state_dir).parent / "demo" / prefix.rstrip(".")
    stack = make_stack(
        infra.kafka_bootstrap,
        infra.service_dsns(),
        prefix,
        log_dir,
        timings,
        log_dir.parent / "master-key",
        service_kafka_env(infra),
        {name: infra.owner_dsn(name) for name in infra.service_dsns()} if hasattr(infra, "owner_dsn") else None,
    )
    console.print(f"[bold]starting the four services[/bold] (topics {prefix}*, logs in {log_dir})")
    counter = EventCounter(infra.kafka_bootstrap, prefix)
    run = Run(stack, counter)
    try:
        await stack.start()
        for name, service in stack.services.items():
            console.print(f"  {name:<12} {service.url}")
        await counter.start()
        people = cast(patients, seed, check_ins=len(timings.check_in_offsets))
        progress, task = make_progress(patients)
        with Live(live_view(progress, counter, run.tally), console=console, refresh_per_second=4) as live:
            driving = asyncio.create_task(drive(run, people, timings, arrival_seconds=arrival, seed=seed))
            while not driving.done():
                progress.update(task, completed=run.tally.finished)
                live.update(live_view(progress, counter, run.tally))
                await asyncio.sleep(0.25)
            await driving
            progress.update(task, completed=run.tally.finished)
            live.update(live_view(progress, counter, run.tally))
            await settle(run, timings)
            live.update(live_view(progress, counter, run.tally))
        books = reconcile(run.records, counter)
        console.print(simulator_table(run.tally))
        console.print(event_counts_table(counter))
        console.print(_books_table(books.figures))
        if books.balanced:
            console.print("[bold green]the books balance: nothing lost, nothing applied twice[/bold green]")
            return 0
        console.print("[bold red]the books do not balance:[/bold red]")
        for problem in books.problems[:30]:
            console.print(f"  - {problem}")
        return 1
    finally:
        await counter.stop()
        await stack.stop()


def _books_table(figures: dict[str, int]) -> Table:
    table = Table(title="reconciliation")
    table.add_column("figure")
    table.add_column("count", justify="right")
    for name, value in figures.items():
        table.add_row(name, str(value))
    return table
