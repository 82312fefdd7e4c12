"""HTTP API of the personal data this service holds: an order's shipping details (given by the patient or the
patient app, read by the pharmacy to label the box). Their erasure by crypto-shredding is the kit's
(`hearth.kit.erasure`: privacy officer, and the `patient-erased` event)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from hearth.kit.app import RuntimeDep
from hearth.kit.auth import Principal, Role, require_roles
from hearth.kit.http_errors import ApiError, ErrorBody
from hearth.kit.logging import redact_values
from hearth.kit.tx import Tx
from hearth.kit.vault import Vault

from . import handlers, store, vault
from .commands import GiveShippingDetails, OrderId, actor, run
from .views import ShippingDetailsReceipt, ShippingDetailsView

Giver = Annotated[Principal, Depends(require_roles(Role.PATIENT, Role.SYSTEM))]
Labeller = Annotated[Principal, Depends(require_roles(Role.PHARMACY, Role.PATIENT))]

_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)}
_DETAILS = "/orders/{order_id}/shipping-details"


def router(keys: Vault) -> APIRouter:
    api = APIRouter(tags=["personal data"], responses=_ERRORS)

    @api.post(
        _DETAILS,
        response_model=ShippingDetailsReceipt,
        summary="Give or replace an order's shipping details (patient for their own order, or system)",
        description="Stored encrypted with the patient's data key; the state must be the approved state "
        "(409 state_not_approved). The response never echoes the personal data.",
    )
    async def give(
        order_id: OrderId, cmd: GiveShippingDetails, request: Request, runtime: RuntimeDep, who: Giver
    ) -> JSONResponse:
        details = cmd.details()
        patient = who.subject if who.role is Role.PATIENT else None

        async def handle(tx: Tx) -> ShippingDetailsReceipt:
            return await handlers.give_shipping_details(tx, order_id, details, actor(who), keys, patient)

        with redact_values(*details.values()):
            return await run(request, runtime, who, handle)

    @api.get(
        _DETAILS,
        response_model=ShippingDetailsView,
        responses={410: {"model": ErrorBody, "description": "Erased: the patient's key was destroyed"}},
        summary="Read an order's shipping details to label a box (pharmacy; a patient for their own)",
    )
    async def read(order_id: OrderId, runtime: RuntimeDep, who: Labeller) -> ShippingDetailsView:
        async with runtime.pool.acquire() as conn:
            order = await store.load(conn, order_id)
            if order is None or (who.role is Role.PATIENT and who.subject != order.patient_id):
                raise ApiError(404, "order_not_found", f"no order {order_id}")
            try:
                details = await vault.get(conn, keys, order_id)
            except vault.Erased:
                raise ApiError(
                    410,
                    "personal_data_erased",
                    "the patient's personal data was erased; the stored shipping details can no longer be read",
                ) from None
        if details is None:
            raise ApiError(404, "shipping_details_not_found", f"no shipping details for order {order_id}")
        return ShippingDetailsView.of(order_id, details)

    return api
