"""Write (or check) the generated artifacts: schemas/<topic>.json, asyncapi.json and EVENTS.md.

    uv run python -m hearth.contracts.generate            # write; refuses a breaking schema change
    uv run python -m hearth.contracts.generate --check    # exit 1 when a committed file differs
    uv run python -m hearth.contracts.generate --allow-breaking   # write anyway (only for a deliberate break)
    python -m hearth.contracts.generate --out DIR         # from an installed package, into DIR

The committed schema files are the compatibility snapshot: writing compares each one with its replacement
first.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hearth.contracts.asyncapi import asyncapi_document
from hearth.contracts.catalog import CATALOG
from hearth.contracts.compat import BreakingChange, breaking_changes
from hearth.contracts.markdown import events_markdown
from hearth.contracts.schema import event_schema

SCHEMA_DIR = "schemas"


def artifacts() -> dict[str, str]:
    """Relative path → content of every generated file."""
    files = {f"{SCHEMA_DIR}/{spec.topic}.json": _json(event_schema(spec)) for spec in CATALOG.values()}
    files["asyncapi.json"] = _json(asyncapi_document())
    files["EVENTS.md"] = events_markdown()
    return files


def differences(out: Path, files: dict[str, str]) -> list[str]:
    """Files that are missing, stale or different under ``out``."""
    found = [f"{path}: differs" for path, text in files.items() if _read(out / path) != text]
    found += [f"{path}: no longer generated" for path in _snapshots(out) if path not in files]
    return found


def breaking(out: Path, files: dict[str, str]) -> list[str]:
    """Breaking changes of the new schemas against the committed ones (a dropped event is one too)."""
    found: list[str] = []
    for path in _snapshots(out):
        if path not in files:
            found.append(f"{path}: event removed")
            continue
        changes: list[BreakingChange] = breaking_changes(
            json.loads((out / path).read_text(encoding="utf-8")), json.loads(files[path])
        )
        found += [f"{path}: {change}" for change in changes]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hearth.contracts.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=_source_tree(), help="the contracts/ directory to write into")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on any difference")
    parser.add_argument("--allow-breaking", action="store_true", help="write even when a schema change breaks")
    args = parser.parse_args(argv)
    if args.out is None:
        parser.error("not running from the source tree: pass --out DIR")
    files = artifacts()
    if args.check:
        stale = differences(args.out, files)
        print("\n".join(stale) or "generated artifacts are up to date", file=sys.stderr if stale else sys.stdout)
        return 1 if stale else 0
    problems = breaking(args.out, files)
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
