"""The soak itself: the four services up, their maximum rate measured (unless given), patients started at a
fraction of it for the whole run, a sample every interval, then the in-flight patients let finish and a last
sample taken."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hearth.journey.bench import ZERO
from hearth.journey.client import Api
from hearth.journey.personas import Persona, cast
from hearth.journey.run import Run, drive, running_journey
from hearth.journey.simulator import Simulator
from hearth.kit.testing import launcher

from . import REPO
from .soak_probe import Probe
from .soak_verdict import Sample

DRAIN_TIMEOUT = 180.0  # seconds the in-flight patients get to finish once the paced load stops


@dataclass
class SoakSettings:
    minutes: float
    interval: float = 10.0
    warmup: float = 60.0
    rate_per_min: float | None = None  # given: no maximum measured
    load: float = 0.5
    probe_patients: int = 40


@dataclass
class SoakOutcome:
    samples: list[Sample]
    services: list[str]
    rate_per_min: float
    rate_source: str
    started: int = 0
    finished: int = 0
    errors: list[str] = field(default_factory=list)
    in_flight_at_end: int = 0
    log_dir: str = ""


def personas(seed: int) -> Iterator[Persona]:
    """Endless patients as the bench's journey has them: one session, no integration, no skipped check-in."""
    for chunk in itertools.count():
        for p in cast(1000, seed=seed + chunk, check_ins=1):
            yield replace(p, sessions=1, skipped_check_ins=(), skips_integration=True)


async def soak(settings: SoakSettings, say: Any) -> SoakOutcome:
    script = launcher.load(REPO)
    infra: Any = script.LocalInfra(script.DEFAULT_STATE_DIR)
    os.environ.update(infra.kafka_env())
    logs = Path(tempfile.mkdtemp(prefix="hearth-soak-"))  # kept: the services' logs of the run
    say(f"services' logs in {logs}")
    prefix = f"soak-{os.getpid()}."
    async with running_journey(infra, prefix, logs, ZERO) as run:
        services = list(run.stack.services)
        if settings.rate_per_min is not None:
            rate, source = settings.rate_per_min, "given with --rate"
        else:
            maximum = await measure_max(run, settings.probe_patients)
            rate = settings.load * maximum
            source = (
                f"{settings.load:.0%} of {maximum:,.1f}/min, the maximum measured just before by a burst of"
                f" {settings.probe_patients} patients started at once on the same stack"
            )
        say(f"paced load: {rate:,.1f} patients/min ({source})")
        pids = {name: s.proc.pid for name, s in run.stack.services.items() if s.proc is not None}
        probe = Probe(run.stack.bootstrap, prefix, run.stack.dsns, pids)
        await probe.start()
        try:
            outcome = await paced(run, probe, settings, rate, say)
        finally:
            await probe.stop()
    outcome.services, outcome.rate_per_min, outcome.rate_source, outcome.log_dir = services, rate, source, str(logs)
    return outcome


async def measure_max(run: Run, patients: int) -> float:
    """Patients per minute of a burst started at once (as `make bench`'s journey figure), on this stack."""
    people = list(itertools.islice(personas(seed=5000), patients))
    started = time.monotonic()
    await drive(run, people, ZERO, arrival_seconds=0)
    return len(people) / (time.monotonic() - started) * 60


async def paced(run: Run, probe: Probe, settings: SoakSettings, rate_per_min: float, say: Any) -> SoakOutcome:
    duration = settings.minutes * 60
    api = Api({name: run.stack.url(name) for name in run.stack.services}, run.stack.jwt_secret)
    simulator = Simulator(api, ZERO, run.tally)
    outcome = SoakOutcome([], [], rate_per_min, "")
    tasks: set[asyncio.Task[Any]] = set()

    def finished(task: asyncio.Task[Any]) -> None:
        tasks.discard(task)
        if task.cancelled():
            return
        outcome.finished += 1
        if (exc := task.exception()) is not None:
            outcome.errors.append(f"{type(exc).__name__}: {exc}")
        elif task.result().error:
            outcome.errors.append(task.result().error)

    async def launch(t0: float) -> None:
        people = personas(seed=10_000)
        for n in itertools.count():
            at = t0 + n * 60 / rate_per_min
            if at - t0 >= duration:
                return
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            task = asyncio.create_task(simulator.journey(next(people)))
            outcome.started += 1
            tasks.add(task)
            task.add_done_callback(finished)

    async def take(t0: float) -> None:
        sample: dict[str, float] = {"t_s": round(time.monotonic() - t0, 1)}
        sample |= {
            "patients_started": outcome.started,
            "patients_finished": outcome.finished,
            "patients_in_flight": len(tasks),
            "patient_errors": len(outcome.errors),
        }
        sample |= await probe.sample()
        outcome.samples.append(sample)
        rss = ", ".join(f"{s} {sample.get(f'{s}.rss_mib', 0):.0f}" for s in probe.services)
        lag = sum(v for k, v in sample.items() if k.endswith(".lag") and v == v)
        backlog = sum(v for k, v in sample.items() if k.endswith(".outbox_backlog"))
        say(
            f"t={sample['t_s']:>6.0f} s  started {outcome.started}  in flight {len(tasks)}  errors"
            f" {len(outcome.errors)}  lag {lag:.0f}  backlog {backlog:.0f}  RSS MiB: {rss}"
        )

    try:
        t0 = time.monotonic()
        launcher_task = asyncio.create_task(launch(t0))
        for k in itertools.count():
            at = t0 + k * settings.interval
            if at - t0 > duration:
                break
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            await take(t0)
        await launcher_task
        say(f"paced load over; {len(tasks)} patients still in flight")
        if tasks:
            await asyncio.wait(set(tasks), timeout=DRAIN_TIMEOUT)
        outcome.in_flight_at_end = len(tasks)
        await asyncio.sleep(settings.interval)  # the last events relayed and applied
        await take(t0)
    finally:
        for task in list(tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.gather(*tasks, return_exceptions=True)
        await api.close()
    return outcome
