"""One order per approval, however often the approval arrives — also after the service restarts on the same
database (a new app with a new consumer that resumes from the committed offsets)."""

from __future__ import annotations

import asyncpg

from hearth.contracts import build_event, spec_for
from hearth.fulfillment.main import define
from hearth.fulfillment.settings import FulfillmentSettings
from hearth.kit.app import create_app
from hearth.kit.testing.helpers import produce
from hearth.kit.testing.service_harness import prepare

from .services import MASTER_KEY, approved, caught_up


async def test_an_approval_delivered_three_times_and_again_after_a_restart_yields_one_order(infra, unique_name):
    prefix = unique_name("fulfillment") + "."
    settings, definition, dsn = await prepare(define, FulfillmentSettings, infra, prefix, {"master_key": MASTER_KEY})
    topic = prefix + spec_for("org.hearth.screening.approved.v1").topic
    first = approved("apr-1", "pt-restart")
    # the same event twice, and the same approval under a new event id (a producer that sent it again);
    # after the restart, once more
    rounds = (
        [first, first, build_event(first.data, subject="pt-restart")],
        [build_event(first.data, subject="pt-restart")],
    )
    for events in rounds:
        app = create_app(definition, settings)
        async with app.router.lifespan_context(app):
            await produce(infra.kafka_bootstrap, [(topic, e.partitionkey.encode(), e.to_json()) for e in events])
            await caught_up((infra.kafka_bootstrap, prefix))

    conn = await asyncpg.connect(dsn)
    try:
        orders = await conn.fetch("SELECT order_id, status FROM orders WHERE approval_id = 'apr-1'")
        applied = await conn.fetchval("SELECT count(*) FROM hearth_inbox WHERE event_type = $1", first.type)
        boxes = await conn.fetchval("SELECT count(*) FROM order_boxes")
    finally:
        await conn.close()
    assert [r["status"] for r in orders] == ["open"] and boxes == 1
    assert applied == 3  # three distinct event ids handled; the repeated id never reached the handler
