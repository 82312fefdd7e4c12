"""Write (or check) the generated artifacts: the JSON Schemas and the AsyncAPI document inside the package
(src/hearth/contracts/schemas/<topic>.json, src/hearth/contracts/asyncapi.json, shipped in the wheel) and EVENTS.md.

    uv run python -m hearth.contracts.generate            # write; refuses a breaking schema change
    uv run python -m hearth.contracts.generate --check    # exit 1 when a committed file differs
    uv run python -m hearth.contracts.generate --allow-breaking   # write anyway (only for a deliberate break)
    python -m hearth.contracts.generate --out DIR         # from an installed package, into DIR

The committed schema files are the compatibility snapshot: writing compares each one with its replacement
first. The subscriber registry counts too: an event that a registered subscriber still reads is never retired,
not even with ``--allow-breaking`` (v1 stays until every consumer moved).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hearth.contracts.asyncapi import asyncapi_document
from hearth.contracts.catalog import CATALOG
from hearth.contracts.compat import BreakingChange, breaking_changes
from hearth.contracts.markdown import events_markdown
from hearth.contracts.schema import event_schema
from hearth.contracts.subscribers import Subscriber, packaged_registry, parse_subscribers, readers_of

PACKAGE_DIR = "src/hearth/contracts"
SCHEMA_DIR = f"{PACKAGE_DIR}/schemas"
ASYNCAPI = f"{PACKAGE_DIR}/asyncapi.json"


def artifacts(registry: Mapping[str, Subscriber] | None = None) -> dict[str, str]:
    """Relative path → content of every generated file (with the packaged subscriber registry by default)."""
    files = {f"{SCHEMA_DIR}/{spec.topic}.json": _json(event_schema(spec)) for spec in CATALOG.values()}
    files[ASYNCAPI] = _json(asyncapi_document(registry))
    files["EVENTS.md"] = events_markdown(registry)
    return files


def differences(out: Path, files: dict[str, str]) -> list[str]:
    """Files that are missing, stale or different under ``out``."""
    found = [f"{path}: differs" for path, text in files.items() if _read(out / path) != text]
    found += [f"{path}: no longer generated" for path in _snapshots(out) if path not in files]
    return found


def breaking(out: Path, files: dict[str, str], registry: Mapping[str, Subscriber] | None = None) -> list[str]:
    """Breaking changes of the new schemas against the committed ones (a dropped event is one too), each with
    who reads that topic: the consuming services and the registered subscribers."""
    found: list[str] = []
    for path in _snapshots(out):
        readers = ", ".join(readers_of(Path(path).stem, registry)) or "no registered reader"
        if path not in files:
            found.append(f"{path}: event removed (read by {readers})")
            continue
        changes: list[BreakingChange] = breaking_changes(
            json.loads((out / path).read_text(encoding="utf-8")), json.loads(files[path])
        )
        found += [f"{path}: {change} (read by {readers})" for change in changes]
    return found


def still_subscribed(out: Path, registry: Mapping[str, Subscriber], problems: list[str]) -> list[str]:
    """Registry problems; an event retired from the catalog that a subscriber still reads is named as such."""
    retired = {Path(path).stem for path in _snapshots(out)} - {spec.topic for spec in CATALOG.values()}
    found = [
        f"{topic}: retired from the catalog but subscriber {s.name} ({s.team}, {s.contact}) still reads it"
        for s in registry.values()
        for topic in s.topics
        if topic in retired
    ]
    return found + [p for p in problems if not any(topic in p for topic in retired)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hearth.contracts.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=_source_tree(), help="the contracts/ directory to write into")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on any difference")
    parser.add_argument("--allow-breaking", action="store_true", help="write even when a schema change breaks")
    parser.add_argument("--subscribers", type=Path, help="another subscriber registry (default: the packaged one)")
    args = parser.parse_args(argv)
    if args.out is None:
        parser.error("not running from the source tree: pass --out DIR")
    registry, problems = parse_subscribers(
        args.subscribers.read_text(encoding="utf-8") if args.subscribers else packaged_registry()
    )
    if unresolved := still_subscribed(args.out, registry, problems):
        print("the subscriber registry does not fit the catalog (v1 stays until every consumer moved):")
        print(*unresolved, sep="\n  ")
        return 2
    files = artifacts(registry)
    if args.check:
        stale = differences(args.out, files)
        print("\n".join(stale) or "generated artifacts are up to date", file=sys.stderr if stale else sys.stdout)
        return 1 if stale else 0
    problems = breaking(args.out, files, registry)
    if problems and not args.allow_breaking:
        print("breaking changes (make a v2 event instead, or pass --allow-breaking):", *problems, sep="\n  ")
        return 2
    for path in _snapshots(args.out):
        if path not in files:
            (args.out / path).unlink()
    for path, text in files.items():
        (args.out / path).parent.mkdir(parents=True, exist_ok=True)
        (args.out / path).write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files under {args.out}")
    return 0


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _snapshots(out: Path) -> list[str]:
    return sorted(f"{SCHEMA_DIR}/{path.name}" for path in (out / SCHEMA_DIR).glob("*.json"))


def _source_tree() -> Path | None:
    # src/hearth/contracts/generate.py → the contracts/ project directory, when this is a checkout.
    root = Path(__file__).resolve().parents[3]
    return root if (root / "pyproject.toml").is_file() and (root / "src" / "hearth" / "contracts").is_dir() else None


if __name__ == "__main__":
    sys.exit(main())
