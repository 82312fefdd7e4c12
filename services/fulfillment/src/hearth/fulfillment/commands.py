"""HTTP command bodies and path parameters, constrained so bad input is a 422 naming the field, and the runner
that turns the domain's refusals into the kit's error body."""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, StringConstraints

from hearth.contracts import BoxShipped
from hearth.contracts.primitives import IDENTIFIER_PATTERN, PATIENT_ID_PATTERN, UsState
from hearth.kit.app import Runtime
from hearth.kit.auth import Principal
from hearth.kit.commands import run_command
from hearth.kit.http_errors import ApiError, Command, FieldError
from hearth.kit.tx import Tx

from .handlers import OrderNotFound
from .model import InvalidInput, Refused, UnknownBox
from .vault import ShippingDetails

_SHIPPED = BoxShipped.model_json_schema()["properties"]  # one source for the carrier and tracking patterns

OrderId = Annotated[str, Path(pattern=IDENTIFIER_PATTERN, description="Id of the order", examples=["ord-81f3a2"])]
BoxNumber = Annotated[int, Path(ge=1, le=99, description="Number of the box within the order, from 1")]
PatientId = Annotated[str, Path(pattern=PATIENT_ID_PATTERN, description="Pseudonymous patient id")]


def _plain_text(value: str) -> str:
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in value):
        raise ValueError("must not contain control or unprintable characters")
    return value


PlainText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_plain_text)]


def _plausible(value: datetime) -> datetime:
    if not 2000 <= value.year <= 2100:
        raise ValueError("must be a date-time between the years 2000 and 2100")
    return value.astimezone(UTC)


class Ship(Command):
    carrier: str = Field(pattern=_SHIPPED["carrier"]["pattern"], description="Carrier code, e.g. ups, fedex, usps")
    tracking_number: str = Field(pattern=_SHIPPED["tracking_number"]["pattern"], description="Carrier tracking number")


class Delivered(Command):
    delivered_at: Annotated[AwareDatetime, AfterValidator(_plausible)] | None = Field(
        default=None, description="When the carrier recorded the delivery, with an adult signature; default: now"
    )


class GiveShippingDetails(Command):
    """Where the boxes go and the adult who signs for them: personal data, stored encrypted, never echoed."""

    recipient_name: PlainText = Field(max_length=120, description="Adult who signs for the box")
    address_line1: PlainText = Field(max_length=200, description="Street address")
    address_line2: PlainText | None = Field(default=None, max_length=200, description="Apartment, suite, ...")
    city: PlainText = Field(max_length=100, description="City")
    state: UsState = Field(description="US state: must be the approved state")
    postal_code: str = Field(pattern=r"^[0-9]{5}(-[0-9]{4})?$", description="ZIP code")
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ().-]{7,25}$", description="For the carrier")

    def details(self) -> ShippingDetails:
        return ShippingDetails(**self.model_dump())


def actor(principal: Principal) -> str:
    return f"{principal.role.value}:{principal.subject}"


async def run(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    fn: Callable[[Tx], Awaitable[BaseModel]],
    status_code: int = 200,
) -> JSONResponse:
    """`run_command` (Idempotency-Key, one transaction), with the domain's refusals as HTTP errors."""
    try:
        return await run_command(request, runtime.uow, principal.subject, fn, status_code=status_code)
    except OrderNotFound as e:
        raise ApiError(404, "order_not_found", f"no order {e}") from None
    except UnknownBox as e:
        raise ApiError(404, "box_not_found", str(e), details={"order_id": e.order_id, "box_number": e.number}) from None
    except Refused as e:
        details: dict[str, Any] = {"current_state": e.current_state, "reasons": list(e.reasons)}
        if e.box_number is not None:
            details["box_number"] = e.box_number
        raise ApiError(409, e.code, "; ".join(e.reasons), details=details) from None
    except InvalidInput as e:
        raise ApiError(
            422,
            "validation_error",
            "the request is not valid",
            fields=[FieldError(field=f"body.{e.field_name}", message=str(e))],
        ) from None
