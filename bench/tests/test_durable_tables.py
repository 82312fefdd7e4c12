"""--durable: each pass's ratios against its own limits, the two passes side by side, and their settings."""

from __future__ import annotations

import argparse

from bench.hearthbench.durability import DURABLE, TEST_SETTINGS, PassRun
from bench.hearthbench.machine import Machine
from bench.hearthbench.results import machine_facts
from bench.hearthbench.rows import Row, catalog
from bench.hearthbench.table import compare, ratio, table


def rows(**values: float) -> tuple[list[Row], dict[str, Row]]:
    args = argparse.Namespace(inbox_batches=[1, 100], fire_batches=[100], pg_concurrency=4, stage_tx=100)
    made = catalog(args)
    by_key = {r.key: r for r in made}
    for key, value in values.items():
        by_key[key.replace("_", ".")].value = value
    return made, by_key


def test_each_pass_is_compared_with_the_limit_of_its_own_pass() -> None:
    _, fast_by = rows(pg_commit_1=8000, outbox_stage_1=1600)
    durable, durable_by = rows(pg_commit_1=400, outbox_stage_1=300)

    assert ratio(fast_by["outbox.stage.1"], fast_by) == "0.20"
    assert ratio(durable_by["outbox.stage.1"], durable_by) == "0.75"
    cells = {c[1]: c for c in table(durable, durable_by)}
    assert cells["outbox.stage, 1 event per transaction"][3] == "raw PG commits: 400 commits/s"


def test_side_by_side_gives_both_figures_both_ratios_and_the_second_over_the_first() -> None:
    fast, fast_by = rows(pg_commit_1=8000, outbox_stage_1=1600, mem_total=24000)
    _, durable_by = rows(pg_commit_1=400, outbox_stage_1=300, mem_total=24000)

    cells = {c[1]: c for c in compare(fast, fast_by, durable_by)}

    stage = cells["outbox.stage, 1 event per transaction"]
    assert stage[2:] == ["1,600 events/s", "0.20", "300 events/s", "0.75", "0.19"]
    assert cells["raw asyncpg single-row INSERT commits, 1 connection"][6] == "0.05"
    assert "machine memory" not in cells  # the same in both: not a comparison
    assert "outbox.stage, 100 events per transaction" not in cells  # measured in neither pass


def test_a_row_measured_in_one_pass_only_is_left_out_of_the_side_by_side() -> None:
    fast, fast_by = rows(outbox_relay=19000)
    _, durable_by = rows()

    assert compare(fast, fast_by, durable_by) == []


def test_the_machine_facts_name_the_settings_of_each_pass() -> None:
    def machine(settings: str, load: str) -> Machine:
        m = Machine()
        m.add("CPUs (nproc)", "2")
        m.add("load average at start (1/5/15 min)", load)
        m.add("PostgreSQL settings in force", settings)
        return m

    bench = argparse.Namespace()  # not read by machine_facts
    runs = [
        PassRun(TEST_SETTINGS, bench, machine("fsync=off, synchronous_commit=off", "1.0")),  # type: ignore[arg-type]
        PassRun(DURABLE, bench, machine("fsync=on, synchronous_commit=on", "2.0")),  # type: ignore[arg-type]
    ]

    facts = dict(machine_facts(runs))

    assert facts["CPUs (nproc)"] == "2"  # once: the same in both
    assert facts["PostgreSQL settings in force (test settings)"].startswith("fsync=off")
    assert facts["PostgreSQL settings in force (durable)"].startswith("fsync=on")
    assert facts["load average at start (1/5/15 min) (durable)"] == "2.0"
    assert len(facts) == 5


def test_the_passes_are_the_three_settings_off_then_on() -> None:
    assert TEST_SETTINGS.describe() == "fsync=off, synchronous_commit=off, full_page_writes=off"
    assert DURABLE.describe() == "fsync=on, synchronous_commit=on, full_page_writes=on"
