"""Personal data planted in every free-text HTTP field of every service never reaches Kafka, a log line or a
table in plain text, and a privacy officer's erasure makes it unreadable everywhere.

A name, an address, a phone number, an e-mail address and a birth date go into every field that takes text:
the intake's medications and drug names, the prescriber's justification and notes, a safety item's and a
follow-up item's resolution notes, the shipping details, the check-in and adverse-event notes, a dose change's
justification, the therapist's integration notes, and an unknown field of a refused request. Every record on
every topic of the run (key, value and headers), every line the four service processes logged and every row of
every table of the four databases (audit trails included) are scanned: zero hits. The text is stored sealed
with each patient's data key, and the services read it back. Then the privacy officer erases the patients at the
screening service: every service destroys their keys (patient-erased), what they wrote reads `ERASED`, the
scans still find nothing, and every audit trail still verifies against its signed checkpoints.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from aiokafka import AIOKafkaConsumer

from hearth.contracts import topic_for
from hearth.contracts.events.audit import CHECKPOINTS
from hearth.journey.client import Api, Refused
from hearth.journey.personas import Persona, intake_body
from hearth.journey.run import running_journey, settle
from hearth.journey.timings import Timings
from hearth.kit import audit_keys
from hearth.kit.audit_verify import read_checkpoints, verify_anchored
from hearth.kit.auth import Role
from hearth.kit.settings import kafka_client_options
from hearth.kit.testing.postgres import with_database
from hearth.kit.topics import catalog_topics, partitions_of
from hearth.kit.vault import ERASED

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


PATIENTS = ("pt-phi-0001", "pt-phi-0002", "pt-phi-0003")


def persona(pid: str, kind: Any) -> Persona:
    return Persona(pid, kind, "CO", None, 1, (), False, 200)


async def test_planted_personal_data_is_nowhere_in_plain_text_and_erasure_shreds_it(infra, unique_name, tmp_path):
    prefix = unique_name("phi") + "."
    logs = tmp_path / "logs"
    async with running_journey(infra, prefix, logs, TIMINGS) as run:
        api = Api({n: run.stack.url(n) for n in run.stack.services}, run.stack.jwt_secret)
        databases = {n: with_database(infra.pg_admin_dsn, urlsplit(dsn).path[1:]) for n, dsn in run.stack.dsns.items()}
        try:
            ids = await _walk_with_planted_text(api)
            await settle(run, TIMINGS)
            assert await _read_back(api, ids) == (TEXT, DRUG_TEXT, TEXT, 200), "the services could not read it back"
            hits = await _plain_text_in(databases)
            assert hits == [], "\n".join(hits)
            for pid in PATIENTS:  # at the screening service: every other one follows patient-erased
                await api.delete(
                    "screening", f"/patients/{pid}/personal-data", role=Role.PRIVACY_OFFICER, subject="po-1"
                )
            await _until(lambda: _all_keys_shredded(databases), timeout=60)
            assert await _read_back(api, ids) == (ERASED, ERASED, ERASED, 410)
        finally:
            await api.close()
        hits = await _plain_text_in(databases)
        assert hits == [], "\n".join(hits)
        await settle(run, TIMINGS)
        records = await _every_record(infra.kafka_bootstrap, prefix)
        await run.stack.stop()  # each service checkpoints its final head
        for name, dsn in databases.items():
            verdict = await _verdict(infra, run, name, dsn)
            assert verdict.intact and verdict.anchored_to == verdict.rows > 0, (name, verdict)
    erased = [r for r in records if r.topic == prefix + "screening.patient-erased.v1"]
    assert {r.key.decode() for r in erased} == set(PATIENTS)
    assert len(records) >= 10, "the walk produced too few events for the scan to mean anything"
    lines = [line for path in sorted(Path(logs).glob("*.log")) for line in path.read_text().splitlines()]
    assert len(lines) >= 8, "the services logged too little for the scan to mean anything"
    for planted in PLANTED:
        for record in records:
            blob = b" ".join([record.key or b"", record.value or b"", *(v for _, v in record.headers)])
            assert planted.encode() not in blob, f"{planted!r} on Kafka in {record.topic}"
        hits = [line for line in lines if planted.lower() in line.lower()]
        assert not hits, f"{planted!r} in the logs: {hits[:3]}"


async def _walk_with_planted_text(api: Api) -> dict[str, Any]:
    """Every free-text field of every service gets TEXT; returns the ids the erasure test reads back."""
    a, b, c = PATIENTS
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
    await _resolve_the_rest(api, a, clinician)
    return {"assessment": decisions[a], "order": oid, "session": sid}


async def _resolve_the_rest(api: Api, pid: str, clinician: str) -> None:
    """The remaining free text: a dose change's justification, a safety item's and a follow-up item's
    resolution notes."""
    await api.post(
        "session",
        f"/patients/{pid}/next-dose",
        {"dose_mg": 300, "justification": TEXT},
        role=Role.CLINICIAN,
        subject=clinician,
    )
    safety = (await api.get("screening", "/safety-items", role=Role.CLINICIAN, params={"status": "all"})).json()
    item_id = next(i["id"] for i in safety["items"] if i["patient_id"] == pid)
    await api.post(
        "screening", f"/safety-items/{item_id}/resolve", {"note": TEXT}, role=Role.CLINICIAN, subject=clinician
    )
    params = {"patient_id": pid, "status": "all"}
    found = await _until(
        lambda: _items(api, params),
    )
    await api.post(
        "followup",
        f"/follow-up-items/{found[0]['item_id']}/resolve",
        {"note": TEXT},
        role=Role.CLINICIAN,
        subject=clinician,
    )


async def _items(api: Api, params: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (
        await api.get("followup", "/follow-up-items", role=Role.CLINICIAN, params=params)
    ).json()["items"]
    return items


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


async def _read_back(api: Api, ids: dict[str, Any]) -> tuple[Any, ...]:
    """What the services show clinicians and the pharmacy: the justification, a drug name, a check-in's notes,
    and the status of reading the shipping details."""
    assessment = (await api.get("screening", f"/assessments/{ids['assessment']}", role=Role.CLINICIAN)).json()
    session = (await api.get("session", f"/sessions/{ids['session']}", role=Role.CLINICIAN)).json()
    label = await api.get(
        "fulfillment", f"/orders/{ids['order']}/shipping-details", role=Role.PHARMACY, accept=(200, 410)
    )
    drugs = [t["drug"] for t in assessment["answers"]["antidepressant_trials"]]
    notes = [c.get("notes") for c in session["check_ins"] if c.get("notes")]
    return assessment["decision"]["justification"], drugs[0], notes[0], label.status_code


async def _plain_text_in(databases: dict[str, str]) -> list[str]:
    """Every planted value found in any row of any table of any service's database (all its schemas)."""
    hits = []
    for name, dsn in databases.items():
        conn = await asyncpg.connect(dsn)
        try:
            tables = await conn.fetch(
                "SELECT schemaname, tablename FROM pg_tables"
                " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            )
            assert {"public", "audit"} <= {t["schemaname"] for t in tables}
            for schema, table in tables:
                for row in await conn.fetch(f'SELECT t::text AS row FROM "{schema}"."{table}" t'):
                    hits += [f"{name}.{schema}.{table}: {p!r}" for p in (*PLANTED, DRUG_TEXT) if p in row["row"]]
        finally:
            await conn.close()
    return hits


async def _all_keys_shredded(databases: dict[str, str]) -> bool:
    """Every service that held a key of the patients has destroyed it (and each held at least one)."""
    for dsn in databases.values():
        conn = await asyncpg.connect(dsn)
        try:
            live, shredded = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE shredded_at IS NULL), count(*) FILTER (WHERE shredded_at IS NOT NULL)"
                " FROM hearth_data_keys WHERE patient_id = ANY($1::text[])",
                list(PATIENTS),
            )
        finally:
            await conn.close()
        if live or not shredded:
            return False
    return True


async def _verdict(infra: Any, run: Any, name: str, dsn: str) -> Any:
    topic = run.stack.prefix + topic_for(CHECKPOINTS[name])
    checkpoints = await read_checkpoints(infra.kafka_bootstrap, topic, kafka_client_options())
    key = audit_keys.public_key(run.stack.audit_public_keys[name])
    conn = await asyncpg.connect(dsn)
    try:
        return await verify_anchored(conn, checkpoints, key, now=datetime.now(UTC), max_lag=timedelta(0))
    finally:
        await conn.close()
