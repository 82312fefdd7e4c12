"""CPU shares of a run's processes: the arithmetic, and what a process tree's CPU time includes."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time

import pytest

from hearth.journey.process_cpu import CpuShare, CpuWindow, figures, shares, tree_cpu_seconds

BURN = "import time\nend = time.process_time() + 0.4\nwhile time.process_time() < end: pass\n"


def test_shares_are_seconds_between_the_two_samples_over_the_whole_machine() -> None:
    measured = shares({"a": 10.0, "b": 1.0}, {"a": 13.0, "b": 2.0}, wall_seconds=10.0, cpus=2)

    assert measured == [CpuShare("a", 3.0, 15.0), CpuShare("b", 1.0, 5.0)]  # largest first


def test_a_process_missing_at_either_end_has_no_share() -> None:
    measured = shares({"gone": 1.0, "late": None, "ok": 0.0}, {"gone": None, "late": 2.0, "ok": 1.0}, 1.0, 1)

    assert [s.name for s in measured] == ["ok"]


def test_a_zero_wall_window_gives_no_percentage_rather_than_a_division_error() -> None:
    (share,) = shares({"a": 1.0}, {"a": 2.0}, wall_seconds=0.0, cpus=2)

    assert share.seconds == 1.0
    assert math.isnan(share.percent_of_machine)


def test_figures_name_seconds_and_percent_per_process() -> None:
    out = figures([CpuShare("session", 2.5, 12.5)])

    assert out == {"session CPU s": 2.5, "session CPU % of machine": 12.5}


def test_a_reaped_child_counts_in_its_parents_tree_but_not_in_the_parent_alone() -> None:
    tree, alone = tree_cpu_seconds(os.getpid()), tree_cpu_seconds(os.getpid(), alone=True)
    assert tree is not None
    assert alone is not None

    subprocess.run([sys.executable, "-c", BURN], check=True)  # burns 0.4 s of CPU, exits, is reaped

    tree_after, alone_after = tree_cpu_seconds(os.getpid()), tree_cpu_seconds(os.getpid(), alone=True)
    assert tree_after is not None
    assert alone_after is not None
    assert tree_after - tree >= 0.35
    assert alone_after - alone < 0.35


def test_a_live_child_counts_in_the_window_of_its_parent() -> None:
    window = CpuWindow({"this": os.getpid()})
    window.start()
    child = subprocess.Popen([sys.executable, "-c", BURN + "import time; time.sleep(30)\n"])
    try:
        for _ in range(200):  # until its burn is over (it then sleeps, still alive)
            seconds = tree_cpu_seconds(child.pid)
            if seconds is not None and seconds >= 0.4:
                break
            time.sleep(0.05)
        (share,) = window.stop()
    finally:
        child.kill()
        child.wait()

    assert share.name == "this"
    assert share.seconds >= 0.35


def test_a_process_that_does_not_exist_has_no_cpu_time() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()

    assert tree_cpu_seconds(child.pid) is None


@pytest.mark.parametrize("alone", [True, False])
def test_this_process_has_cpu_time(alone: bool) -> None:
    seconds = tree_cpu_seconds(os.getpid(), alone=alone)

    assert seconds is not None
    assert seconds > 0
