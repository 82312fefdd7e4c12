"""One statement of several writes that run in a given order: each write is a CTE that starts only once the one
before it has finished, and the statement's own SELECT runs last.

Postgres runs the parts of a statement in whatever order it likes; what it cannot do is produce a row of a query
before the one-time filter of that query (a WHERE without a column of its FROM) has been evaluated.  Each part
here is gated by such a filter reading the whole of the part before it, so the parts run in the order added.
A round trip is a millisecond of CPU across the service and Postgres at the rates the journey sees
(bench/PROFILE.md); the writes held back to the end of a transaction (at_commit.py) are one statement this way.
"""

from __future__ import annotations

from typing import Any


class Chain:
    def __init__(self) -> None:
        self.args: list[Any] = []
        self._parts: list[str] = []
        self._last: str | None = None

    def param(self, value: Any, cast: str) -> str:
        """The placeholder of a new parameter holding `value`, cast to the SQL type `cast`."""
        self.args.append(value)
        return f"${len(self.args)}::{cast}"

    def gate(self) -> str:
        """A WHERE clause that holds the next part back until the last one added has run to its end."""
        return "" if self._last is None else f" WHERE (SELECT count(*) FROM {self._last}) >= 0"

    def add(self, name: str, sql: str) -> None:
        """A part: a SELECT or an INSERT … RETURNING (its rows are counted by the gate), built with `gate()`."""
        self._parts.append(f"{name} AS MATERIALIZED ({sql})")
        self._last = name

    def sql(self, final: str = "1") -> str:
        """The statement: every part, then `SELECT final` once the last part has run."""
        head = f"WITH {', '.join(self._parts)} " if self._parts else ""
        return f"{head}SELECT {final}{self.gate()}"

    def __bool__(self) -> bool:
        return bool(self._parts)
