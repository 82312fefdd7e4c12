"""A script's `if __name__ == "__main__":` block runs as soon as it is reached: a function defined below it does
not exist yet when run as a script (the soak once failed at its very end that way, its 15 minutes lost)."""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(BENCH.glob("*.py"))


def _is_main_guard(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)


def test_the_main_guard_is_the_last_statement_of_every_script() -> None:
    assert SCRIPTS  # bench/run.py, bench/soak.py, ...
    late = []
    for path in SCRIPTS:
        body = ast.parse(path.read_text()).body
        guards = [i for i, node in enumerate(body) if _is_main_guard(node)]
        if guards and guards[-1] != len(body) - 1:
            late.append(f"{path.name}: {ast.unparse(body[-1]).splitlines()[0]}")
    assert not late, "statements after the main guard: " + "; ".join(late)
