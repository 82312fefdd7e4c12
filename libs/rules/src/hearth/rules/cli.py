"""`hearth rules show [--at DAY|TIME]` and `hearth rules check FILE` (registered into the `hearth` command)."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from typing import Any

from .model import RuleBook
from .source import RulesFileError, configured_path, load


def register(commands: Any) -> None:
    group = commands.add_parser("rules", help="the dated clinical and prescribing rules").add_subparsers(
        dest="action", required=True
    )
    show = group.add_parser("show", help="the rules in force on a day")
    show.add_argument("--at", help="a day (2027-01-02, in the file's time zone) or a time with an offset; default: now")
    show.add_argument("--file", help="the rules file (default: HEARTH_RULES_FILE, then the packaged file)")
    show.add_argument("--json", action="store_true", help="print JSON instead of text")
    show.set_defaults(run=run_show)
    check = group.add_parser("check", help="validate a rules file (exit 1 when it would be refused)")
    check.add_argument("file")
    check.set_defaults(run=run_check)


def day_of(book: RuleBook, at: str | None, now: datetime) -> date:
    """The day asked about: a plain date as given, a time converted to the book's zone, none: today there."""
    if at is None:
        return book.local_day(now)
    if len(at) == 10:
        return date.fromisoformat(at)
    moment = datetime.fromisoformat(at)
    return book.local_day(moment if moment.tzinfo else moment.replace(tzinfo=book.zone))


def in_force(book: RuleBook, day: date) -> dict[str, Any]:
    regime = book.regime_on(day)
    sections = book.model_dump(mode="json", exclude={"regimes", "version", "time_zone"})
    return {
        "version": book.version,
        "digest": book.digest,
        "time_zone": book.time_zone,
        "day": day.isoformat(),
        "regime": None if regime is None else regime.model_dump(mode="json"),
        **sections,
    }


def render(view: dict[str, Any], origin: str) -> str:
    r, s3, dose, bp = view["regime"], view["schedule_iii"], view["dose"], view["blood_pressure"]
    lines = [
        f"rules version {view['version']} (sha256 {view['digest']}) from {origin}",
        f"in force on {view['day']} ({view['time_zone']}):",
    ]
    if r is None:
        lines.append("  regime: NONE covers this day - approvals are refused (no_regime_in_force)")
    else:
        until = r["effective_until"] or "(open: until a later regime)"
        evaluation = "required" if r["in_person_evaluation_required"] else "not required"
        registration = " (or a telemedicine special registration)" if r["special_registration_accepted"] else ""
        lines += [
            f"  regime: {r['id']} - {r['title']}",
            f"    effective from {r['effective_from']} to {until}",
            f"    in-person medical evaluation before approval: {evaluation}{registration}",
            f"    source: {r['source']}",
        ]
    margin = bp["borderline_margin_mmhg"]
    lines += [
        f"  Schedule III: no fill or refill more than {s3['fill_window_months']} months after issue;"
        f" at most {s3['max_refills']} refills",
        f"    source: {s3['source']}",
        "  licensure: the prescriber is licensed in the patient's state",
        f"    source: {view['licensure']['source']}",
        f"  doses: {dose['min_mg']}-{dose['max_mg']} mg; starting {dose['starting_min_mg']}-{dose['starting_max_mg']}"
        f" mg; an increase above {dose['max_increase_per_change_mg']} mg per change needs a prescriber's"
        " justification",
        f"    source: {dose['source']}",
        f"  blood pressure: above {bp['max_systolic_mmhg']}/{bp['max_diastolic_mmhg']} mmHg excludes;"
        f" borderline band {margin} mmHg" + (" (off)" if margin == 0 else ""),
        f"    source: {bp['source']}",
    ]
    return "\n".join(lines)


def run_show(args: argparse.Namespace) -> int:
    path = configured_path(args.file)
    try:
        book = load(path)
        day = day_of(book, args.at, datetime.now(UTC))
    except RulesFileError as exc:
        print(f"refused: {exc}")
        return 1
    except ValueError as exc:
        print(f"--at: {exc}")
        return 2
    view = in_force(book, day)
    print(json.dumps(view, indent=2) if args.json else render(view, str(path)))
    return 0


def run_check(args: argparse.Namespace) -> int:
    try:
        book = load(configured_path(args.file))
    except RulesFileError as exc:
        print(f"refused: {exc}")
        return 1
    regimes = ", ".join(f"{r.id} from {r.effective_from}" for r in book.regimes)
    print(f"ok: version {book.version} (sha256 {book.digest}), {len(book.regimes)} regime(s): {regimes}")
    return 0
