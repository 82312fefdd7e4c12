"""HTTP API of orders and boxes: the pharmacy packs and ships, the carrier integration (system role) reports
delivered / returned / lost, operations read orders, their audit trail, and resolve flags."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse

from hearth.contracts.primitives import PATIENT_ID_PATTERN
from hearth.kit import audit
from hearth.kit.app import RuntimeDep
from hearth.kit.auth import Principal, Role, require_roles
from hearth.kit.http_errors import ApiError, ErrorBody
from hearth.kit.tx import Tx

from . import domain, handlers, store, vault
from .commands import BoxNumber, Delivered, OrderId, Ship, actor, run
from .model import OrderStatus, Policies
from .views import AuditEntry, AuditTrail, OrderList, OrderView

Pharmacy = Annotated[Principal, Depends(require_roles(Role.PHARMACY))]
Carrier = Annotated[Principal, Depends(require_roles(Role.SYSTEM))]
Ops = Annotated[Principal, Depends(require_roles(Role.OPS))]
Reader = Annotated[Principal, Depends(require_roles(Role.OPS, Role.PHARMACY))]

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)}
_BOX = "/orders/{order_id}/boxes/{box_number}"


def router(policies: Policies) -> APIRouter:
    api = APIRouter(tags=["orders"], responses=_ERRORS)

    @api.get("/orders", summary="Find orders (operations, pharmacy)")
    async def find_orders(
        runtime: RuntimeDep,
        _: Reader,
        patient_id: Annotated[str | None, Query(pattern=PATIENT_ID_PATTERN)] = None,
        flagged: Annotated[bool | None, Query(description="Only orders with (true) or without (false) flags")] = None,
        status: OrderStatus | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    ) -> OrderList:
        async with runtime.pool.acquire() as conn:
            found = await store.find(
                conn, patient_id=patient_id, flagged=flagged, status=status, limit=limit, offset=offset
            )
        return OrderList(orders=[OrderView.of(order, destination) for order, destination in found])

    @api.get("/orders/{order_id}", summary="One order with its boxes (operations, pharmacy)")
    async def get_order(order_id: OrderId, runtime: RuntimeDep, _: Reader) -> OrderView:
        async with runtime.pool.acquire() as conn:
            order = await store.load(conn, order_id)
            if order is None:
                raise ApiError(404, "order_not_found", f"no order {order_id}")
            return OrderView.of(order, await vault.destination(conn, order_id))

    @api.get("/orders/{order_id}/audit", summary="Every state change of an order, with its actor (operations)")
    async def get_audit(order_id: OrderId, runtime: RuntimeDep, _: Ops) -> AuditTrail:
        async with runtime.pool.acquire() as conn:
            entries = await audit.entries(conn, f"order:{order_id}")
        if not entries:
            raise ApiError(404, "order_not_found", f"no order {order_id}")
        return AuditTrail(entity=f"order:{order_id}", entries=[AuditEntry(**e) for e in entries])

    @api.post(f"{_BOX}/pack", response_model=OrderView, summary="The pharmacy packed the box (pharmacy)")
    async def pack(
        order_id: OrderId, box_number: BoxNumber, request: Request, runtime: RuntimeDep, who: Pharmacy
    ) -> JSONResponse:
        return await _step(request, runtime, who, order_id, domain.pack, number=box_number)

    @api.post(f"{_BOX}/ship", response_model=OrderView, summary="Shipped (pharmacy): box-shipped")
    async def ship(
        order_id: OrderId, box_number: BoxNumber, cmd: Ship, request: Request, runtime: RuntimeDep, who: Pharmacy
    ) -> JSONResponse:
        async def handle(tx: Tx) -> OrderView:
            return await handlers.ship_box(
                tx, order_id, box_number, cmd.carrier, cmd.tracking_number, actor(who), policies.current()
            )

        return await run(request, runtime, who, handle)

    @api.post(
        f"{_BOX}/delivered",
        response_model=OrderView,
        summary="Delivered, adult signed (carrier): box-delivered",
    )
    async def delivered(
        order_id: OrderId,
        box_number: BoxNumber,
        request: Request,
        runtime: RuntimeDep,
        who: Carrier,
        cmd: Annotated[Delivered | None, Body()] = None,
    ) -> JSONResponse:
        at = cmd.delivered_at if cmd is not None else None
        return await _step(
            request,
            runtime,
            who,
            order_id,
            domain.deliver,
            number=box_number,
            delivered_at=at,
            policy=policies.current(),
        )

    @api.post(
        f"{_BOX}/returned",
        response_model=OrderView,
        summary="Returned (carrier): box-returned",
    )
    async def returned(
        order_id: OrderId, box_number: BoxNumber, request: Request, runtime: RuntimeDep, who: Carrier
    ) -> JSONResponse:
        return await _step(request, runtime, who, order_id, domain.mark_returned, number=box_number)

    @api.post(f"{_BOX}/lost", response_model=OrderView, summary="Lost (carrier): box-lost")
    async def lost(
        order_id: OrderId, box_number: BoxNumber, request: Request, runtime: RuntimeDep, who: Carrier
    ) -> JSONResponse:
        return await _step(request, runtime, who, order_id, domain.mark_lost, number=box_number)

    @api.post(
        "/orders/{order_id}/flags/{flag}/resolve",
        response_model=OrderView,
        summary="Operations dealt with a flag (operations)",
    )
    async def resolve(
        order_id: OrderId,
        flag: Literal["revoked_after_shipping", "box_returned", "box_lost", "resupply_refused"],
        request: Request,
        runtime: RuntimeDep,
        who: Ops,
    ) -> JSONResponse:
        async def handle(tx: Tx) -> OrderView:
            return await handlers.resolve_flag(tx, order_id, flag, actor(who), policies.current())

        return await run(request, runtime, who, handle)

    return api


async def _step(
    request: Request, runtime: RuntimeDep, who: Principal, order_id: str, step: Any, **kwargs: Any
) -> JSONResponse:
    async def handle(tx: Tx) -> OrderView:
        return await handlers.move_box(tx, order_id, actor(who), step, **kwargs)

    return await run(request, runtime, who, handle)
