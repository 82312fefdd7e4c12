"""Synthetic patients and staff walking the journey through the four services' HTTP APIs.

Each patient is one coroutine: intake → clinician decision → the pharmacy packs and ships, the carrier delivers →
sessions with clinician check-ins (some missed on purpose) → integration (some skipped on purpose).  What it did
is recorded in `Record`s, the simulator's half of the reconciliation; Kafka's half is the EventCounter.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hearth.kit.auth import Role

from .client import Api, Refused
from .funnel import Tally
from .personas import Persona, intake_body
from .timings import Timings

WAIT = 60.0  # how long a step waits for an event of another service to have been applied
# The longest a step waits between two asks.  The simulated people have no think time: how long they take to
# notice a change must not grow with how long the change took, or the figures measure the asking (with a
# ceiling of a second, an order that appeared after 1.4 s was found after 2.1 s).
LONGEST_ASK_INTERVAL = 0.25


@dataclass
class Record:
    persona: Persona
    outcome: str | None = None
    approval_id: str | None = None
    order_id: str | None = None
    boxes_shipped: list[int] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    skipped: list[tuple[str, int]] = field(default_factory=list)  # (session id, check-in index), on purpose
    late: list[tuple[str, int]] = field(default_factory=list)  # attempted, but after the service reported it missed
    integrations: list[str] = field(default_factory=list)
    error: str | None = None
    order_found_after: float | None = None  # seconds from the order's creation to the patient finding it
    started: float = 0.0  # event-loop times of the patient's first request and of the end of its journey
    finished: float = 0.0


class Simulator:
    def __init__(self, api: Api, timings: Timings, tally: Tally, *, patience: float = WAIT) -> None:
        self.api = api
        self.t = timings
        self.tally = tally
        self.patience = patience  # longer when a test takes the brokers away for longer

    async def journey(self, p: Persona) -> Record:
        record = Record(p, started=asyncio.get_running_loop().time())
        try:
            await self._screen(p, record)
            if record.approval_id is not None:
                await self._fulfil(p, record)
                for n in range(p.sessions):
                    if n:
                        await asyncio.sleep(self.t.min_session_interval)
                    await self._session(p, record, first=n == 0)
        except (Refused, RuntimeError, TimeoutError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            self.tally.failures.append(f"{p.patient_id}: {record.error}")
        self.tally.finished += 1
        record.finished = asyncio.get_running_loop().time()
        return record

    async def _screen(self, p: Persona, record: Record) -> None:
        r = await self.api.post(
            "screening", "/intakes", intake_body(p), role=Role.PATIENT, subject=p.patient_id, accept=(201,)
        )
        assessment = r.json()
        record.outcome = assessment["outcome"]
        self.tally.add(f"screened {record.outcome}")
        if record.outcome == "ineligible" or p.kind == "ineligible":
            return
        prescriber = f"clin-{p.state.lower()}"
        path = f"/assessments/{assessment['assessment_id']}/decision"
        if p.kind == "review_declined":
            await self.api.post(
                "screening",
                path,
                {"decision": "decline", "reason": "clinical_judgement", "prescriber_id": prescriber},
                role=Role.CLINICIAN,
                subject=prescriber,
                accept=(201,),
            )
            self.tally.add("declined")
            return
        body: dict[str, Any] = {
            "decision": "approve",
            "plan": p.plan,
            "starting_dose_mg": p.starting_dose_mg,
            "prescriber_id": prescriber,
            "prescriber_license_state": p.state,
            # On record whatever the day: from 2027 the prescribing rules ask for it (docs/clinical-rules.md).
            "in_person_evaluation_on": (datetime.now(UTC) - timedelta(days=7)).date().isoformat(),
        }
        if record.outcome == "needs_review":
            body["justification"] = "Reviewed by video call; safety plan in place."
        decision = await self.api.post("screening", path, body, role=Role.CLINICIAN, subject=prescriber, accept=(201,))
        record.approval_id = decision.json()["approval_id"]
        self.tally.add(f"approved {p.plan}")

    async def _fulfil(self, p: Persona, record: Record) -> None:
        order = await self._until(lambda: self._order_of(p.patient_id), "an order for the approval")
        record.order_id = order["order_id"]
        created = datetime.fromisoformat(order["created_at"])
        record.order_found_after = (datetime.now(UTC) - created).total_seconds()
        await self.api.post(
            "fulfillment",
            f"/orders/{record.order_id}/shipping-details",
            {
                "recipient_name": "Demo Recipient",
                "address_line1": "1 Example Way",
                "city": "Springfield",
                "state": p.state,
                "postal_code": "80202",
            },
            role=Role.SYSTEM,
            subject="patient-app",
            accept=(200, 201),
        )
        for box in order["boxes"]:
            if box["state"] == "created":
                await self._ship_box(record, box["box_number"])

    async def _ship_box(self, record: Record, number: int) -> None:
        box = f"/orders/{record.order_id}/boxes/{number}"
        await self.api.post("fulfillment", f"{box}/pack", {}, role=Role.PHARMACY, subject="pharm-1")
        await self.api.post(
            "fulfillment",
            f"{box}/ship",
            {
                "carrier": "ups",
                "tracking_number": f"1Z{number:02d}{record.persona.patient_id.replace('-', '').upper()[-12:]}",
            },
            role=Role.PHARMACY,
            subject="pharm-1",
        )
        record.boxes_shipped.append(number)
        self.tally.add("boxes shipped")
        await self.api.post("fulfillment", f"{box}/delivered", {}, role=Role.SYSTEM, subject="carrier-ups")
        self.tally.add("boxes delivered")

    async def _order_of(self, patient_id: str) -> dict[str, Any] | None:
        r = await self.api.get("fulfillment", "/orders", role=Role.OPS, params={"patient_id": patient_id})
        orders = r.json()["orders"]
        return orders[0] if orders else None

    async def _session(self, p: Persona, record: Record, *, first: bool) -> None:
        session = await self._start(p)
        sid = session["session_id"]
        record.sessions.append(sid)
        self.tally.add("sessions started")
        started = datetime.fromisoformat(session["started_at"]).timestamp()
        loop_offset = asyncio.get_running_loop().time() - datetime.now(UTC).timestamp()
        for index, offset in enumerate(self.t.check_in_offsets):
            if first and index in p.skipped_check_ins:
                record.skipped.append((sid, index))
                self.tally.add("check-ins skipped")
                continue
            await _sleep_until(started + offset + loop_offset)
            if await self._check_in(sid, index):
                self.tally.add("check-ins done")
            else:
                record.late.append((sid, index))
                self.tally.add("check-ins late (reported missed)")
        if p.skipped_check_ins and first:
            # Leave the closing to the service (after the last check-in + grace), so every miss is its own.
            await _sleep_until(started + self.t.check_in_offsets[-1] + self.t.check_in_grace + loop_offset)
        else:
            try:
                await self.api.post(
                    "session", f"/sessions/{sid}/close", {}, role=Role.CLINICIAN, subject="clin-checkin"
                )
            except Refused as refused:
                if not _code(refused, "session_completed"):  # closed automatically while we were delayed
                    raise
        self.tally.add("sessions closed")
        if not p.skips_integration:
            await self._until(lambda: self._integrate(sid), "follow-up to know the session")
            record.integrations.append(sid)
            self.tally.add("integrations done")

    async def _check_in(self, sid: str, index: int) -> bool:
        """Record a check-in; False when the service had already reported it missed (we were too late, e.g.
        while it restarted), which the reconciliation then expects as a `check-in-missed`."""
        try:
            r = await self.api.post(
                "session",
                f"/sessions/{sid}/check-ins",
                {"check_in_index": index},
                role=Role.CLINICIAN,
                subject="clin-checkin",
            )
        except Refused as refused:
            if _code(refused, "session_completed"):
                return False
            raise
        check_in = next(c for c in r.json()["check_ins"] if c["check_in_index"] == index)
        return check_in.get("missed_at") is None

    async def _start(self, p: Persona) -> dict[str, Any]:
        async def attempt() -> dict[str, Any] | None:
            body = {
                "patient_id": p.patient_id,
                "support_person_present": True,
                "blood_pressure": {"systolic": 124, "diastolic": 80, "taken_at": datetime.now(UTC).isoformat()},
            }
            try:
                r = await self.api.post(
                    "session", "/sessions", body, role=Role.PATIENT, subject=p.patient_id, accept=(201,)
                )
            except Refused as refused:
                if refused.status == 409:
                    return None  # approval or delivery not applied yet, or too soon: try again
                raise
            result: dict[str, Any] = r.json()
            return result

        session: dict[str, Any] = await self._until(attempt, "the session gate to open")
        return session

    async def _integrate(self, session_id: str) -> bool:
        try:
            await self.api.post(
                "followup",
                f"/sessions/{session_id}/integration",
                {"status": "done"},
                role=Role.THERAPIST,
                subject="therapist-1",
            )
        except Refused as refused:
            if refused.status == 404:
                return False  # follow-up has not seen the session yet
            raise
        return True

    async def _until(self, attempt: Any, what: str) -> Any:
        """Ask until another service has applied an event.  The first ask waits too: an event takes a relay
        wake-up, a Kafka hop and the consumer's transaction to be applied, so asking at once only costs the
        service a refused request (and under load, each refused request is load that slows the event)."""
        deadline = asyncio.get_running_loop().time() + self.patience
        delay = 0.1
        await asyncio.sleep(delay)
        while True:
            result = await attempt()
            if result:
                return result
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"waited {self.patience:.0f}s for {what}")
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, LONGEST_ASK_INTERVAL)


def _code(refused: Refused, code: str) -> bool:
    body = refused.body if isinstance(refused.body, dict) else {}
    return refused.status == 409 and body.get("error", {}).get("code") == code


async def _sleep_until(loop_time: float) -> None:
    delay = loop_time - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)
