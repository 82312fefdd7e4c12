"""`hearth fhir bundle PATIENT` and `hearth fhir export [--since TIME]` (registered into the `hearth` command)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hearth.fhir.journey import bundle, journey, ndjson_by_type, updated_since
from hearth.fhir.source import Read, read_events
from hearth.kit.cli.kafka import environment_help


def register(commands: Any) -> None:
    group = commands.add_parser("fhir", help="the care journey as FHIR R4 resources").add_subparsers(
        dest="action", required=True
    )
    kafka = {"epilog": environment_help(), "formatter_class": argparse.RawDescriptionHelpFormatter}
    one = group.add_parser(
        "bundle", help="one patient's journey as a FHIR Bundle (type collection), from Kafka", **kafka
    )
    one.add_argument("patient_id")
    one.add_argument("--out", help="write the Bundle to this file (default: standard output)")
    one.set_defaults(run=run_bundle)
    export = group.add_parser(
        "export", help="every patient's resources as Bulk Data NDJSON, one file per type", **kafka
    )
    export.add_argument("--since", type=_moment, help="only resources changed at or after this time (RFC 3339)")
    export.add_argument("--out", default="fhir-export", help="output folder (default: fhir-export)")
    export.set_defaults(run=run_export)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no time zone offset, e.g. 2026-12-01T00:00:00Z")
    return moment


def _report_skipped(read: Read) -> None:
    for reason, count in sorted(read.skipped.items()):
        print(f"left out {count} record(s): {reason}", file=sys.stderr)


async def run_bundle(args: argparse.Namespace) -> int:
    read = await read_events(args.patient_id)
    _report_skipped(read)
    if not read.events:
        print(f"no events for {args.patient_id}", file=sys.stderr)
        return 1
    document = json.dumps(bundle(args.patient_id, journey(read.events), timestamp=datetime.now(UTC)), indent=2)
    if args.out:
        _write(Path(args.out), document + "\n")
    else:
        print(document)
    return 0


async def run_export(args: argparse.Namespace) -> int:
    started = datetime.now(UTC)
    read = await read_events()
    _report_skipped(read)
    files = ndjson_by_type(updated_since(journey(read.events), args.since))
    out = Path(args.out)
    output: list[dict[str, Any]] = []
    for kind, text in files.items():
        _write(out / f"{kind}.ndjson", text)
        output.append({"type": kind, "url": f"{kind}.ndjson", "count": text.count("\n")})
    manifest = {
        "transactionTime": started.isoformat().replace("+00:00", "Z"),
        "request": "hearth fhir export" + (f" --since {args.since.isoformat()}" if args.since else ""),
        "requiresAccessToken": False,
        "output": output,
        "error": [],
    }
    _write(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    total = sum(int(item["count"]) for item in output)
    print(f"{total} resource(s) of {len(output)} type(s) from {len(read.events)} event(s) in {out}")
    return 0


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
