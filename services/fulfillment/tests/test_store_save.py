"""An order saved in one statement (`store.save`) reads back as it was saved: the order's fields (nulls and
flags included) and every box, on the first save and on later ones that change boxes and add one; another
order's rows are untouched, and a second order for one approval is still refused by its unique key."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from hearth.fulfillment import store
from hearth.fulfillment.model import Box, Order
from hearth.kit import migrations

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _order(order_id: str, approval_id: str) -> Order:
    return Order(
        order_id,
        approval_id,
        "pt-save",
        "extended",
        24,
        "CO",
        "CO",
        T0,
        boxes=(Box(1, 8, "created", T0),),
        issued_at=T0 - timedelta(hours=1),
    )


async def test_an_order_and_its_boxes_read_back_as_saved(pg_database: str) -> None:
    conn = await asyncpg.connect(pg_database)
    try:
        await migrations.migrate(
            conn, migrations.kit_migrations() + migrations.package_migrations("fulfillment", "hearth.fulfillment")
        )
        first = _order("ord-save", "apr-save")
        other = _order("ord-other", "apr-other")
        async with conn.transaction():
            await store.save(conn, first, T0)
            await store.save(conn, other, T0)
        assert await store.load(conn, "ord-save") == first

        shipped = Box(
            1, 8, "shipped", T0, packed_at=T0 + timedelta(hours=1), shipped_at=T0 + timedelta(hours=2),
            carrier="ups", tracking_number="1Z0001", ship_to_state="CO",
        )  # fmt: skip
        later = replace(
            first,
            boxes=(shipped, Box(2, 8, "created", T0 + timedelta(days=3))),
            doses_used=7,
            flags=("box_lost", "resupply_refused"),
            resupply_refusal="fill window ended",
        )
        statements: list[str] = []

        def log(record: asyncpg.connection.LoggedQuery) -> None:
            statements.append(record.query)

        async with conn.transaction():
            conn.add_query_logger(log)
            await store.save(conn, later, T0 + timedelta(days=3))
            await asyncio.sleep(0.05)  # the logger is called soon after each statement, not during it
            conn.remove_query_logger(log)
        assert len(statements) == 1, statements
        assert await store.load(conn, "ord-save") == later
        assert await store.load(conn, "ord-other") == other
        row = await conn.fetchrow("SELECT status, updated_at FROM orders WHERE order_id = 'ord-save'")
        assert (row["status"], row["updated_at"]) == (later.status, T0 + timedelta(days=3))

        with pytest.raises(asyncpg.UniqueViolationError) as refused:
            await store.save(conn, _order("ord-second", "apr-save"), T0)
        assert refused.value.constraint_name == "orders_approval_id_key"
        assert await conn.fetchval("SELECT count(*) FROM order_boxes WHERE order_id = 'ord-second'") == 0
    finally:
        await conn.close()


async def test_a_change_waiting_for_the_order_reads_the_boxes_the_holder_committed(pg_database: str) -> None:
    """`load_for_change` reads the boxes after taking the order's lock: a box added by the transaction it waited
    for is in what it reads (a read in the locking statement would have missed it)."""
    conn = await asyncpg.connect(pg_database)
    try:
        await migrations.migrate(
            conn, migrations.kit_migrations() + migrations.package_migrations("fulfillment", "hearth.fulfillment")
        )
        order = _order("ord-wait", "apr-wait")
        await store.save(conn, order, T0)
        found = await store.load_for_change(conn, "ord-wait")
        assert found is not None and found[0] == order and found[1].status == "missing"
        assert await store.load_for_change(conn, "ord-none") is None
        grown = replace(order, boxes=(*order.boxes, Box(2, 8, "created", T0 + timedelta(days=1))))
        holder = await asyncpg.connect(pg_database)
        try:
            async with holder.transaction():
                assert await store.load_for_change(holder, "ord-wait") is not None
                async with conn.transaction():
                    waiting = asyncio.create_task(store.load_for_change(conn, "ord-wait"))
                    await asyncio.sleep(0.3)
                    assert not waiting.done()
                    await store.save(holder, grown, T0 + timedelta(days=1))
                    await holder.execute("COMMIT; BEGIN")  # commit the change while the other still waits
                    seen = await asyncio.wait_for(waiting, 10)
            assert seen is not None and seen[0] == grown
        finally:
            await holder.close()
    finally:
        await conn.close()
