"""Constrained value types shared by the envelope and every payload.

They keep personal data out by construction: a patient is a pseudonymous id whose alphabet cannot hold an
e-mail address or a name with spaces, and no type here can carry free text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, Strict, StringConstraints

PATIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{2,63}$"
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _uuid_as_text(value: object) -> object:
    # Services often hold ids as uuid.UUID; the wire carries text either way.
    return str(value) if isinstance(value, UUID) else value


def _rfc3339_only(value: object) -> object:
    # Pydantic would also take Unix timestamps and bare dates; the contract is RFC 3339 with an offset.
    if isinstance(value, datetime) or (isinstance(value, str) and _RFC3339.match(value)):
        return value
    raise ValueError("must be an RFC 3339 date-time with a time zone offset, e.g. 2026-11-28T09:30:00Z")


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _canonical_uuid(value: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        raise ValueError("must be a UUID, e.g. 0b6f3c5e-6c1d-4c1e-9a53-2f0d8f1b7a10") from None


# Constraints come before the BeforeValidator: a validator wraps what precedes it, and only then do the
# constraints still show in the JSON Schema.
PatientId = Annotated[
    str,
    StringConstraints(pattern=PATIENT_ID_PATTERN),
    BeforeValidator(_uuid_as_text),
    Field(description="Pseudonymous patient id: never a name, e-mail, phone number or birth date."),
]
Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN), BeforeValidator(_uuid_as_text)]
EventId = Annotated[
    str,
    AfterValidator(_canonical_uuid),
    BeforeValidator(_uuid_as_text),
    Field(json_schema_extra={"format": "uuid"}),
]
UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_rfc3339_only), AfterValidator(_to_utc)]

# Strict so that "12" or 12.0 is not quietly taken for a score and 1 is not taken for true.
StrictInt = Annotated[int, Strict()]
StrictBool = Annotated[bool, Strict()]

UsState = Literal[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC",
    "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
]  # fmt: skip
"""Two-letter USPS code of a US state or the District of Columbia."""

# Fixed values for examples, so that generated artifacts are identical on every run.
EXAMPLE_AT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
EXAMPLE_PATIENT = "pt-7Q2M9X4K"
EXAMPLE_JOURNEY = "0b6f3c5e-6c1d-4c1e-9a53-2f0d8f1b7a10"
