"""The journey's figures as rows of the bench table."""

from __future__ import annotations

from bench.hearthbench.journey import journey_row


def test_journey_figures_take_their_unit_from_the_end_of_their_name() -> None:
    seconds, share = journey_row("session CPU s"), journey_row("session CPU % of machine")

    assert (seconds.what, seconds.unit) == ("session CPU", "s")
    assert (share.what, share.unit) == ("session CPU share", "% of machine")
    assert journey_row("session peak RSS MiB").limit == "mem.total"
    assert journey_row("approval to box-shipped p99 ms").unit == "ms"
    assert journey_row("patients per minute").what == "patients per minute"
