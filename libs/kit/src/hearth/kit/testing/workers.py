"""Kit components run as real, separate processes, so fault tests can SIGKILL them mid-stream.

    python -m hearth.kit.testing.workers relay    --dsn DSN --bootstrap HOST:PORT [--prefix P]
    python -m hearth.kit.testing.workers consumer --dsn DSN --bootstrap HOST:PORT [--prefix P] --group G
                                         [--handler each|batched]
    python -m hearth.kit.testing.workers poller   --dsn DSN [--batch N] [--worker-id I] [--delay SECONDS]

The consumer applies each event by inserting a row into `test_effects` (no unique constraint, so a second
application would show as a duplicate row); the poller's timer handler inserts into `test_timer_effects`.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence
from typing import Any, ClassVar

from hearth.contracts import Event, dlq_topic, spec_for
from hearth.contracts.events.screening import Screened

from ..aio import sleep_or_stop
from ..consumer import InboxConsumer
from ..db import create_pool
from ..dead_letters import DeadLetterPublisher
from ..event_handlers import EventHandler, batched
from ..inbox import Inbox
from ..logging import configure_logging
from ..publisher import KafkaPublisher
from ..relay import OutboxRelay
from ..settings import kafka_client_options
from ..timer_poller import TimerPoller, timer_routes
from ..tx import TimerPayload, Tx
from ..uow import UnitOfWork

SERVICE = "followup"  # consumes `screened`; any real consumer of it would do

EFFECTS_SQL = """
CREATE TABLE IF NOT EXISTS test_effects (
    event_id uuid NOT NULL, subject text NOT NULL, applied_at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE TABLE IF NOT EXISTS test_timer_effects (
    key text NOT NULL, fired_by int NOT NULL, fired_at timestamptz NOT NULL DEFAULT clock_timestamp());
"""


class ProbeTimer(TimerPayload):
    kind: ClassVar[str] = "test-timer"
    key: str


async def on_screened(event: Event[Screened], tx: Tx) -> None:
    await tx.conn.execute("INSERT INTO test_effects (event_id, subject) VALUES ($1, $2)", event.id, event.subject)


async def _on_screened_run(items: Sequence[tuple[Event[Screened], Tx]]) -> None:
    await items[0][1].conn.execute(
        "INSERT INTO test_effects (event_id, subject) SELECT * FROM unnest($1::uuid[], $2::text[])",
        [event.id for event, _ in items],
        [event.subject for event, _ in items],
    )


on_screened_batched = batched(_on_screened_run)
"""The same effect as `on_screened`, a run of events in one statement."""

HANDLERS: dict[str, EventHandler] = {"each": on_screened, "batched": on_screened_batched}


def on_test_timer(worker_id: int, delay: float = 0.0) -> Any:
    """A handler writing which worker fired the timer; `delay` stretches it, so a kill lands inside a batch."""

    async def fire(timer: ProbeTimer, tx: Tx) -> None:
        await tx.conn.execute("INSERT INTO test_timer_effects (key, fired_by) VALUES ($1, $2)", timer.key, worker_id)
        if delay:
            await asyncio.sleep(delay)

    return fire


async def _until_signal() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def run_relay(args: argparse.Namespace) -> None:
    stop = await _until_signal()
    publisher = KafkaPublisher(args.bootstrap, **kafka_client_options())
    relay = OutboxRelay(
        args.dsn, publisher, service=SERVICE, batch_size=args.batch, sweep_interval=0.2, standby_interval=0.5
    )
    try:
        await relay.run(stop)
    finally:
        await publisher.stop()


async def run_consumer(args: argparse.Namespace) -> None:
    stop = await _until_signal()
    pool = await create_pool(args.dsn)
    uow = UnitOfWork(pool, SERVICE, topic_prefix=args.prefix)
    dlq = KafkaPublisher(args.bootstrap, **kafka_client_options())
    letters = DeadLetterPublisher(dlq, SERVICE, topic=args.prefix + dlq_topic(SERVICE))
    inbox = Inbox(uow, {spec_for(Screened).type: HANDLERS[args.handler]})
    consumer = InboxConsumer(
        inbox, args.bootstrap, group_id=args.group, client=kafka_client_options(), batch_size=args.batch
    )
    await consumer.start()
    publishing = asyncio.create_task(_publish_letters(pool, letters, stop))
    await consumer.run(stop)
    await consumer.stop()
    await publishing
    await dlq.stop()
    await pool.close()


async def _publish_letters(pool: Any, letters: DeadLetterPublisher, stop: asyncio.Event) -> None:
    """What the relay does in a service: publish the letters the inbox recorded (once more after `stop`)."""
    while True:
        try:
            async with pool.acquire() as conn:
                while await letters.publish_pending(conn):
                    pass
        except Exception as exc:
            print(f"letters: {type(exc).__name__}: {exc}", flush=True)
        if stop.is_set():
            return
        await sleep_or_stop(stop, 0.1)


async def run_poller(args: argparse.Namespace) -> None:
    stop = await _until_signal()
    pool = await create_pool(args.dsn)
    uow = UnitOfWork(pool, SERVICE)
    poller = TimerPoller(
        uow, timer_routes((ProbeTimer, on_test_timer(args.worker_id, args.delay))), interval=0.05, batch_size=args.batch
    )
    await poller.run(stop)
    await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["relay", "consumer", "poller"])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--group", default="followup.test")
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument(
        "--handler", choices=sorted(HANDLERS), default="each", help="consumer: a handler per event or a batch handler"
    )
    parser.add_argument("--worker-id", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds each timer handler takes (poller)")
    args = parser.parse_args()
    configure_logging(f"{SERVICE}-{args.role}", "WARNING")
    asyncio.run({"relay": run_relay, "consumer": run_consumer, "poller": run_poller}[args.role](args))


if __name__ == "__main__":
    main()
