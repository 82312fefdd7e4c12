"""During a simulator run every service is SIGKILLed and restarted once, and the Kafka broker is restarted once:
the books still balance exactly (nothing lost, nothing applied twice) and no record reaches a dead-letter topic."""

from __future__ import annotations

import asyncio

from hearth.contracts import SERVICES, dlq_topic
from hearth.journey.personas import cast
from hearth.journey.reconcile import reconcile
from hearth.journey.run import drive, running_journey, settle
from hearth.journey.timings import Timings
from hearth.kit.testing.helpers import read_raw

# Wider margins than the demo's: a restarting service delays check-ins and timers by seconds, and a check-in
# that comes too late is (correctly) reported missed — the books count those too, but most should be on time.
TIMINGS = Timings(check_in_offsets=(0.0, 3.0, 6.0, 9.0), check_in_grace=3.0, integration_closes_after=20.0)


async def test_kills_and_a_broker_restart_lose_and_double_nothing(private_infra, unique_name, tmp_path):
    prefix = unique_name("faults") + "."
    people = cast(60, seed=23, check_ins=len(TIMINGS.check_in_offsets))
    injected: list[str] = []
    async with running_journey(private_infra, prefix, tmp_path / "logs", TIMINGS) as run:

        async def faults() -> None:
            await asyncio.sleep(6)
            for name in SERVICES:
                await run.stack.kill(name)
                injected.append(f"SIGKILL {name}")
                await asyncio.sleep(1)
                await run.stack.restart(name)
                await asyncio.sleep(3)
            await asyncio.to_thread(private_infra.stop_kafka)
            injected.append("Kafka stopped")
            await asyncio.sleep(5)
            await asyncio.to_thread(private_infra.start_kafka)
            injected.append("Kafka started")

        await drive(run, people, TIMINGS, arrival_seconds=40, during=faults)
        await settle(run, TIMINGS)
        assert all(s.alive for s in run.stack.services.values()), "a service did not survive"
        assert [s.restarts for s in run.stack.services.values()] == [1, 1, 1, 1]
        bootstrap = private_infra.kafka_bootstrap
        letters = {  # read before the run ends: its topics are deleted with it
            service: len(await read_raw(bootstrap, prefix + dlq_topic(service), expect=1, timeout=2))
            for service in SERVICES
        }
    assert injected == [*(f"SIGKILL {s}" for s in SERVICES), "Kafka stopped", "Kafka started"]
    books = reconcile(run.records, run.counter)
    print("reconciliation after the faults:", books.figures)  # shown with `pytest -s`: the figures of the run
    assert books.balanced, "\n".join(books.problems)
    assert books.figures["approved"] > 30
    assert letters == dict.fromkeys(SERVICES, 0), f"dead letters during the faults: {letters}"
