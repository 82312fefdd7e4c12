"""Personal data planted in every free-text HTTP field of every service never reaches Kafka or a log line.

A name, an address, a phone number, an e-mail address and a birth date go into every field that takes text:
the intake's medications and drug names, the prescriber's justification and notes, the shipping details, the
check-in and adverse-event notes, the therapist's integration notes, and an unknown field of a refused request.
Then every record on every topic of the run (key, value and headers) and every line the four service processes
logged are scanned: zero hits.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from hearth.journey.client import Api, Refused
from hearth.journey.personas import Persona, intake_body
from hearth.journey.run import running_journey, settle
from hearth.journey.timings import Timings
from hearth.kit.auth import Role
from hearth.kit.settings import kafka_client_options
from hearth.kit.topics import catalog_topics, partitions_of

NAME, ADDRESS, PHONE, EMAIL, BIRTH = (
    "Johanna Quixbury",
    "742 Evergreen Terrace",
    "(555) 867-5309",
    "johanna.quixbury@example.org",
    "1984-03-02",
)
PLANTED = (NAME, ADDRESS, PHONE, EMAIL, BIRTH)
TEXT = f"{NAME} of {ADDRESS}, phone {PHONE}, mail {EMAIL}, born {BIRTH}"
DRUG_TEXT = f"{NAME} {ADDRESS} {PHONE} {BIRTH}"  # a drug name field refuses '@'
TIMINGS = Timings(dose_review_after=3600)


def persona(pid: str, kind: Any) -> Persona:
    return Persona(pid, kind, "CO", None, 1, (), False, 200)


async def test_planted_personal_data_reaches_no_record_and_no_log_line(infra, unique_name, tmp_path):
    prefix = unique_name("phi") + "."
    logs = tmp_path / "logs"
    async with running_journey(infra, prefix, logs, TIMINGS) as run:
        api = Api({n: run.stack.url(n) for n in run.stack.services}, run.stack.jwt_secret)
        try:
            await _walk_with_planted_text(api)
        finally:
            await api.close()
        await settle(run, TIMINGS)
        records = await _every_record(infra.kafka_bootstrap, prefix)
    assert len(records) >= 10, "the walk produced too few events for the scan to mean anything"
    lines = [line for path in sorted(Path(logs).glob("*.log")) for line in path.read_text().splitlines()]
    assert len(lines) >= 8, "the services logged too little for the scan to mean anything"
    for planted in PLANTED:
        for record in records:
            blob = b" ".join([record.key or b"", record.value or b"", *(v for _, v in record.headers)])
            assert planted.encode() not in blob, f"{planted!r} on Kafka in {record.topic}"
        hits = [line for line in lines if planted.lower() in line.lower()]
        assert not hits, f"{planted!r} in the logs: {hits[:3]}"


async def _walk_with_planted_text(api: Api) -> None:
    a, b, c = "pt-phi-0001", "pt-phi-0002", "pt-phi-0003"
    clinician = "clin-co"
    decisions = {}
    for pid, kind in ((a, "review_approved"), (b, "foundation"), (c, "foundation")):
        body = intake_body(persona(pid, kind)) | {"current_medications": [DRUG_TEXT, "sertraline 50mg"]}
        body["antidepressant_trials"] = [
            {"drug": DRUG_TEXT, "adequate_dose": True, "weeks": 8},
            {"drug": "bupropion", "adequate_dose": True, "weeks": 6},
        ]
        r = await api.post("screening", "/intakes", body, role=Role.PATIENT, subject=pid, accept=(201,))
        decisions[pid] = r.json()["assessment_id"]
    refused = intake_body(persona("pt-phi-0004", "foundation")) | {"home_address": ADDRESS, "email": EMAIL}
    try:
        await api.post("screening", "/intakes", refused, role=Role.PATIENT, subject="pt-phi-0004")
        raise AssertionError("an intake with unknown fields was accepted")
    except Refused as error:
        assert error.status == 422 and ADDRESS not in str(error.body) and EMAIL not in str(error.body)

    approve = {
        "decision": "approve",
        "plan": "foundation",
        "starting_dose_mg": 200,
        "prescriber_id": clinician,
        "prescriber_license_state": "CO",
        "justification": TEXT,
        "in_person_evaluation_on": "2026-11-20",  # the prescribing rules ask for it from 2027
    }
    approved = await api.post(
        "screening",
        f"/assessments/{decisions[a]}/decision",
        approve,
        role=Role.CLINICIAN,
        subject=clinician,
        accept=(201,),
    )
    await api.post(
        "screening",
        f"/assessments/{decisions[b]}/decision",
        {"decision": "decline", "reason": "clinical_judgement", "prescriber_id": clinician, "note": TEXT},
        role=Role.CLINICIAN,
        subject=clinician,
        accept=(201,),
    )
    approve_c = approve | {"justification": None}
    c_approval = await api.post(
        "screening",
        f"/assessments/{decisions[c]}/decision",
        approve_c,
        role=Role.CLINICIAN,
        subject=clinician,
        accept=(201,),
    )
    await api.post(
        "screening",
        f"/approvals/{c_approval.json()['approval_id']}/revoke",
        {"reason": "clinical_judgement", "prescriber_id": clinician, "note": TEXT},
        role=Role.CLINICIAN,
        subject=clinician,
    )
    assert approved.json()["approval_id"]

    order = await _until(lambda: _order(api, a))
    oid = order["order_id"]
    await api.post(
        "fulfillment",
        f"/orders/{oid}/shipping-details",
        {
            "recipient_name": NAME,
            "address_line1": ADDRESS,
            "address_line2": f"c/o {EMAIL}",
            "city": "Springfield",
            "state": "CO",
            "postal_code": "80202",
            "phone": PHONE,
        },
        role=Role.SYSTEM,
        subject="patient-app",
        accept=(200, 201),
    )
    box = f"/orders/{oid}/boxes/1"
    await api.post("fulfillment", f"{box}/pack", {}, role=Role.PHARMACY, subject="pharm-1")
    await api.post(
        "fulfillment",
        f"{box}/ship",
        {"carrier": "ups", "tracking_number": "1Z999AA10123456784"},
        role=Role.PHARMACY,
        subject="pharm-1",
    )
    await api.post("fulfillment", f"{box}/delivered", {}, role=Role.SYSTEM, subject="carrier-ups")

    session = await _until(lambda: _start(api, a))
    sid = session["session_id"]
    started = datetime.fromisoformat(session["started_at"])
    for index, offset in enumerate(TIMINGS.check_in_offsets):
        wait = (started - datetime.now(UTC)).total_seconds() + offset
        await asyncio.sleep(max(0.0, wait))
        await api.post(
            "session",
            f"/sessions/{sid}/check-ins",
            {"check_in_index": index, "notes": TEXT},
            role=Role.CLINICIAN,
            subject=clinician,
        )
    await api.post(
        "session",
        f"/sessions/{sid}/adverse-events",
        {"kind": "nausea_vomiting", "severity": "mild", "notes": TEXT},
        role=Role.CLINICIAN,
        subject=clinician,
        accept=(200, 201),
    )
    await api.post("session", f"/sessions/{sid}/close", {}, role=Role.CLINICIAN, subject=clinician)
    await _until(lambda: _integrate(api, sid))


async def _order(api: Api, pid: str) -> dict[str, Any] | None:
    orders = (await api.get("fulfillment", "/orders", role=Role.OPS, params={"patient_id": pid})).json()["orders"]
    return orders[0] if orders else None


async def _start(api: Api, pid: str) -> dict[str, Any] | None:
    body = {
        "patient_id": pid,
        "support_person_present": True,
        "blood_pressure": {"systolic": 120, "diastolic": 80, "taken_at": datetime.now(UTC).isoformat()},
    }
    try:
        r = await api.post("session", "/sessions", body, role=Role.PATIENT, subject=pid, accept=(201,))
    except Refused as error:
        if error.status == 409:
            return None
        raise
    result: dict[str, Any] = r.json()
    return result


async def _integrate(api: Api, sid: str) -> bool:
    try:
        await api.post(
            "followup",
            f"/sessions/{sid}/integration",
            {"status": "done", "notes": TEXT},
            role=Role.THERAPIST,
            subject="therapist-1",
        )
    except Refused as error:
        if error.status == 404:
            return False
        raise
    return True


async def _until(attempt: Any, timeout: float = 60.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await attempt()
        if result:
            return result
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.3)


async def _every_record(bootstrap: str, prefix: str) -> list[Any]:
    partitions = await partitions_of(bootstrap, catalog_topics(prefix))
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **kafka_client_options())
    await consumer.start()
    records: list[Any] = []
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records
