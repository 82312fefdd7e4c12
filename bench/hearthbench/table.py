"""The table of figures, as printed (plain text) and as written to the results file (markdown)."""

from __future__ import annotations

from collections.abc import Sequence

from .rows import Row


def ratio(row: Row, rows: dict[str, Row]) -> str:
    limit = rows.get(row.limit or "")
    if row.value is None or limit is None or not limit.value:
        return "—"
    return fmt_ratio(row.value / limit.value)


def fmt_ratio(r: float) -> str:
    return f"{r:.3f}" if r < 0.01 else f"{r:.2f}" if r < 10 else f"{r:.1f}"


def limit_text(row: Row, rows: dict[str, Row]) -> str:
    limit = rows.get(row.limit or "")
    if limit is None:
        return ""
    return f"{limit.short or limit.what}: {limit.figure()}"


def table(rows: Sequence[Row], by_key: dict[str, Row]) -> list[list[str]]:
    return [[r.section, r.what, r.figure(), limit_text(r, by_key), ratio(r, by_key), r.note] for r in rows]


HEADER = ["section", "measurement", "figure", "limit", "ratio", "notes"]


def render_text(cells: list[list[str]]) -> str:
    """Columns as in the markdown table; each row's notes go on the line below it, to keep the width down."""
    widths = [max(len(HEADER[i]), *(len(c[i]) for c in cells)) for i in range(len(HEADER) - 1)]
    lines = []
    for n, cell in enumerate([HEADER[:-1], ["-" * w for w in widths], *cells]):
        left = [cell[0].ljust(widths[0]), cell[1].ljust(widths[1]), cell[2].rjust(widths[2])]
        lines.append("  ".join([*left, cell[3].ljust(widths[3]), cell[4].rjust(widths[4])]).rstrip())
        if n > 1 and cell[5]:
            lines.append(" " * (widths[0] + 4) + cell[5])
    return "\n".join(lines)


def render_markdown(cells: list[list[str]]) -> str:
    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---", "---", "---:", "---", "---:", "---"]) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in cell) + " |" for cell in cells]
    return "\n".join(lines)


COMPARE_HEADER = ["section", "measurement", "{a}", "ratio", "{b}", "ratio", "{b} ÷ {a}"]


def compare(a: Sequence[Row], a_by_key: dict[str, Row], b_by_key: dict[str, Row]) -> list[list[str]]:
    """The rows measured in both passes side by side: each figure with its ratio to its own pass's limit, and
    the second figure over the first (for a rate below 1 means slower; for a latency above 1 means slower)."""
    cells = []
    for row in a:
        other = b_by_key.get(row.key)
        if other is None or row.value is None or other.value is None or row.key == "mem.total":
            continue
        change = fmt_ratio(other.value / row.value) if row.value else "—"
        cells.append(
            [row.section, row.what, row.figure(), ratio(row, a_by_key), other.figure(), ratio(other, b_by_key), change]
        )
    return cells


def render_compare_markdown(cells: list[list[str]], a: str, b: str) -> str:
    header = [h.format(a=a, b=b) for h in COMPARE_HEADER]
    lines = ["| " + " | ".join(header) + " |", "|---|---|---:|---:|---:|---:|---:|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in cell) + " |" for cell in cells]
    return "\n".join(lines)
