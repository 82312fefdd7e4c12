"""Compatibility check between two versions of an event's JSON Schema.

Within a major version, every event already on a topic must stay readable by new code and every new event must
stay readable by code built against the old schema — including a subscriber that validates with the old schema.
So these are **breaking**: a field removed or renamed, a field made required or no longer required, a type
changed (narrowed or widened: a new null is as surprising to an old reader as a missing integer), a value that
used to be allowed refused (removed enum value, tightened bound, new or changed pattern or format, an open object
closed), and a value added to a closed list (`enum`/`const`: the old schema refuses it). These are **additive**:
a new optional field, a code added to an *open* code list (known codes or any code matching its pattern), a
closed list opened, a constant replaced by a pattern it matches, a bound loosened, a description or example
changed. `minor_problem` checks the other half of the rule: a schema that changed at all has a higher minor.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems")
_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


@dataclass(frozen=True)
class BreakingChange:
    """One breaking difference: where (dotted path, ``[]`` for list items) and what."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path or '(root)'}: {self.problem}"


def breaking_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[BreakingChange]:
    """Every breaking change from schema ``old`` to schema ``new`` (local ``$ref``s are followed)."""
    return list(_Comparison(old, new).walk("", old, new))


class _Comparison:
    def __init__(self, old_root: Mapping[str, Any], new_root: Mapping[str, Any]) -> None:
        self.roots = (old_root, new_root)
        self.seen: set[tuple[str, int, int]] = set()

    def walk(self, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[BreakingChange]:
        old, new = _resolve(self.roots[0], old), _resolve(self.roots[1], new)
        if (path, id(old), id(new)) in self.seen:
            return
        self.seen.add((path, id(old), id(new)))
        old_codes, new_codes = _open_codes(old), _open_codes(new)
        if old_codes or new_codes:
            yield from _code_lists(path, old, new, old_codes, new_codes)
            return
        old_branches, new_branches = _branches(self.roots[0], old), _branches(self.roots[1], new)
        if len(old_branches) > 1 or len(new_branches) > 1:
            yield from self._union(path, old_branches, new_branches)
            return
        if _types(old) != _types(new):
            yield BreakingChange(path, f"type changed from {_show(_types(old))} to {_show(_types(new))}")
            return
        yield from _values(path, old, new)
        yield from self._object(path, old, new)
        if "items" in old or "items" in new:
            yield from self.walk(f"{path}[]", old.get("items", {}), new.get("items", {}))

    def _union(
        self, path: str, olds: list[Mapping[str, Any]], news: list[Mapping[str, Any]]
    ) -> Iterator[BreakingChange]:
        unmatched = list(news)
        for branch in olds:
            match = next((b for b in unmatched if _types(b) == _types(branch)), None)
            if match is None:
                yield BreakingChange(path, f"no longer accepts {_show(_types(branch))}")
                continue
            unmatched.remove(match)
            yield from self.walk(path, branch, match)
        for branch in unmatched:
            yield BreakingChange(path, f"type changed: now also {_show(_types(branch))}")

    def _object(self, path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[BreakingChange]:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
        prefix = f"{path}." if path else ""
        for name in old_props:
            if name not in new_props:
                yield BreakingChange(f"{prefix}{name}", "field removed (or renamed)")
            elif name in old_required and name not in new_required:
                yield BreakingChange(f"{prefix}{name}", "field no longer required")
        for name in sorted(new_required - old_required):
            problem = "field became required" if name in old_props else "new required field"
            yield BreakingChange(f"{prefix}{name}", problem)
        if old.get("additionalProperties", True) is not False and new.get("additionalProperties") is False:
            yield BreakingChange(path, "object closed to additional fields")
        for name in old_props.keys() & new_props.keys():
            yield from self.walk(f"{prefix}{name}", old_props[name], new_props[name])


def _values(path: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[BreakingChange]:
    old_allowed, new_allowed = _allowed(old), _allowed(new)
    if new_allowed is not None:
        if old_allowed is None:
            yield BreakingChange(path, f"now restricted to {_show(new_allowed)}")
        elif removed := [v for v in old_allowed if v not in new_allowed]:
            yield BreakingChange(path, f"enum value(s) removed: {_show(removed)}")
        if old_allowed is not None and (added := [v for v in new_allowed if v not in old_allowed]):
            yield BreakingChange(
                path, f"enum value(s) added: {_show(added)} (a reader validating with the old schema refuses them)"
            )
    elif old_allowed is not None and "pattern" in new:  # a constant or a list became a pattern
        if refused := [v for v in old_allowed if not (isinstance(v, str) and re.search(new["pattern"], v))]:
            yield BreakingChange(path, f"no longer accepts {_show(refused)}")
        old = {**old, "pattern": new["pattern"]}
    for key in _LOWER + _UPPER:
        before, after = old.get(key), new.get(key)
        tightened = after is not None and (before is None or (after > before if key in _LOWER else after < before))
        if tightened:
            yield BreakingChange(path, f"{key} tightened from {before} to {after}")
    for key in ("pattern", "format"):
        if new.get(key) is not None and new.get(key) != old.get(key):
            yield BreakingChange(path, f"{key} changed from {old.get(key)!r} to {new.get(key)!r}")


def _open_codes(node: Mapping[str, Any]) -> tuple[list[Any], str] | None:
    """An open code list (``anyOf``: the known codes, or any code matching a pattern): its codes and pattern."""
    options = node.get("anyOf")
    if not isinstance(options, list) or len(options) != 2:
        return None
    known = next((o["enum"] for o in options if "enum" in o), None)
    pattern = next((o["pattern"] for o in options if "pattern" in o and "enum" not in o), None)
    return (list(known), pattern) if known is not None and pattern is not None else None


def _code_lists(
    path: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    old_codes: tuple[list[Any], str] | None,
    new_codes: tuple[list[Any], str] | None,
) -> Iterator[BreakingChange]:
    if new_codes is None:
        yield BreakingChange(path, "open code list closed")
        return
    known, pattern = new_codes
    before = old_codes[0] if old_codes else _allowed(old)
    if before is None:
        yield BreakingChange(path, f"now restricted to codes matching {pattern}")
        return
    if removed := [code for code in before if code not in known]:
        yield BreakingChange(path, f"known code(s) removed: {_show(removed)}")
    if old_codes is not None and old_codes[1] != pattern:
        yield BreakingChange(path, f"pattern changed from {old_codes[1]!r} to {pattern!r}")


def minor_problem(old: Mapping[str, Any], new: Mapping[str, Any]) -> str | None:
    """What is wrong with the minor version of ``new`` against ``old`` (None: nothing). A schema whose shape
    changed (anything but descriptions, titles and examples) needs a higher minor; a minor never goes down. A
    snapshot written before minors were published has none, and sets the starting point."""
    old_minor, new_minor = _minor(old), _minor(new)
    if old_minor is None or new_minor is None:
        return None
    if new_minor < old_minor:
        return f"the minor went down from {old_minor} to {new_minor}"
    if new_minor == old_minor and _shape(old) != _shape(new):
        return f"the schema changed but its minor did not go up (raise event_minor to {old_minor + 1})"
    return None


def _minor(schema: Mapping[str, Any]) -> int | None:
    examples = schema.get("examples") or [{}]
    dataschema = str(examples[0].get("dataschema", ""))
    _, found, minor = dataschema.rpartition("?minor=")
    return int(minor) if found and minor.isdigit() else None


def _shape(node: Any, named: bool = False) -> Any:
    """The schema without its annotations; `named` maps (properties, $defs) keep every key."""
    if isinstance(node, dict):
        return {
            key: _shape(value, key in ("properties", "$defs") and not named)
            for key, value in node.items()
            if named or key not in ("description", "title", "examples", "$comment")
        }
    if isinstance(node, list):
        return [_shape(item) for item in node]
    return node


def _resolve(root: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    seen = 0
    while "$ref" in node and str(node["$ref"]).startswith("#/") and seen < 32:
        target: Any = root
        for part in str(node["$ref"])[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node, seen = target, seen + 1
    return node


def _branches(root: Mapping[str, Any], node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    options = node.get("anyOf") or node.get("oneOf")
    return [_resolve(root, option) for option in options] if options else [node]


def _types(node: Mapping[str, Any]) -> frozenset[str]:
    declared = node.get("type")
    if declared is not None:
        return frozenset([declared] if isinstance(declared, str) else declared)
    values = _allowed(node) or []
    return frozenset(_JSON_TYPES.get(type(value), "object") for value in values)


def _allowed(node: Mapping[str, Any]) -> list[Any] | None:
    if "const" in node:
        return [node["const"]]
    return list(node["enum"]) if "enum" in node else None


def _show(values: Any) -> str:
    return ", ".join(sorted(str(v) for v in values)) or "anything"
