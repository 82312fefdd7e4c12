"""The rules file: which regime is in force on each side of a date (in the file's time zone), what a file may
not say, Schedule III arithmetic, reloading, and `hearth rules` on the command line."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hearth.kit.cli import main as hearth
from hearth.rules import DEFAULT_FILE, RulesFileError, RuleSource, load, parse
from hearth.rules.model import ScheduleIII

NY = ZoneInfo("America/New_York")
TEXT = DEFAULT_FILE.read_text()


def edited(old: str, new: str) -> bytes:
    assert old in TEXT, old
    return TEXT.replace(old, new, 1).encode()


def test_the_packaged_file_is_valid_and_names_its_time_zone():
    book = load(DEFAULT_FILE)
    assert book.time_zone == "America/New_York"
    assert [r.id for r in book.regimes] == ["telemedicine_flexibility", "ryan_haight_in_person"]
    assert len(book.digest) == 12
    assert (book.blood_pressure.borderline_margin_mmhg, book.schedule_iii.max_refills) == (0, 5)


@pytest.mark.parametrize(
    ("at", "regime"),
    [
        (datetime(2023, 5, 11, 23, 59, tzinfo=NY), None),
        (datetime(2023, 5, 12, 0, 0, tzinfo=NY), "telemedicine_flexibility"),
        (datetime(2026, 12, 31, 23, 59, tzinfo=NY), "telemedicine_flexibility"),
        (datetime(2026, 12, 31, 23, 59, 59, tzinfo=NY), "telemedicine_flexibility"),
        (datetime(2027, 1, 1, 0, 0, tzinfo=NY), "ryan_haight_in_person"),
        # 04:59 UTC on 1 January is still 31 December in New York: the file's zone decides, not UTC.
        (datetime(2027, 1, 1, 4, 59, tzinfo=UTC), "telemedicine_flexibility"),
        (datetime(2027, 1, 1, 5, 0, tzinfo=UTC), "ryan_haight_in_person"),
        (datetime(2031, 6, 1, tzinfo=UTC), "ryan_haight_in_person"),
    ],
)
def test_the_regime_in_force_turns_at_midnight_in_the_files_zone(at, regime):
    found = load(DEFAULT_FILE).regime_at(at)
    assert (found.id if found else None) == regime


def test_an_operator_adds_a_fifth_extension_by_editing_the_file():
    extension = """[[regimes]]
id = "telemedicine_flexibility_fifth_extension"
title = "Fifth temporary extension"
effective_from = 2027-01-01
effective_until = 2027-12-31
in_person_evaluation_required = false
source = "a fifth temporary rule"

[[regimes]]
id = "ryan_haight_in_person"
"""
    text = edited('[[regimes]]\nid = "ryan_haight_in_person"\n', extension).replace(
        b"effective_from = 2027-01-01\nin_person_evaluation_required = true",
        b"effective_from = 2028-01-01\nin_person_evaluation_required = true",
    )
    book = parse(text)
    assert book.regime_at(datetime(2027, 6, 1, tzinfo=NY)).id == "telemedicine_flexibility_fifth_extension"
    assert book.regime_at(datetime(2028, 1, 1, tzinfo=NY)).id == "ryan_haight_in_person"


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("effective_from = 2027-01-01", "effective_from = 2027-01-02", "must start the day after"),
        ("effective_from = 2027-01-01", "effective_from = 2026-12-31", "must start the day after"),
        ("prescriber_licensed_in_patient_state = true", "prescriber_licensed_in_patient_state = false", "licensure"),
        ("max_mg = 600", "max_mg = 700", "doses must satisfy"),
        ("starting_max_mg = 400", "starting_max_mg = 450", "starting range"),
        ("max_refills = 5", "max_refills = 6", "max_refills"),
        ('time_zone = "America/New_York"', 'time_zone = "Mars/Olympus"', "unknown time zone"),
        ('version = "2026.12.03-1"', "version = 3", "version"),
        ("borderline_margin_mmhg = 0", "borderline_margin_mmhg = 0\nsurprise = 1", "surprise"),
    ],
)
def test_a_file_that_breaks_a_rule_is_refused_with_the_reason(old, new, complaint):
    with pytest.raises(RulesFileError, match=complaint):
        parse(edited(old, new))


def test_a_file_that_is_not_toml_is_refused():
    with pytest.raises(RulesFileError, match="not a UTF-8 TOML file"):
        parse(b"version = [")


@pytest.mark.parametrize(
    ("issued", "last"),
    [
        (date(2026, 6, 15), date(2026, 12, 15)),
        (date(2026, 8, 31), date(2027, 2, 28)),
        (date(2027, 8, 31), date(2028, 2, 29)),
        (date(2026, 12, 1), date(2027, 6, 1)),
    ],
)
def test_the_last_fill_day_is_six_calendar_months_after_issue(issued, last):
    assert ScheduleIII(fill_window_months=6, max_refills=5, source="s").last_fill_day(issued) == last


def test_the_source_rereads_a_changed_file_and_keeps_the_last_good_one_when_the_change_is_refused(tmp_path, caplog):
    path = tmp_path / "rules.toml"
    path.write_text(TEXT)
    source = RuleSource(path)
    assert source.current().version == "2026.12.03-1"

    path.write_text(TEXT.replace('version = "2026.12.03-1"', 'version = "2026.12.04-1"').replace(
        "borderline_margin_mmhg = 0", "borderline_margin_mmhg = 5"))  # fmt: skip
    os.utime(path, ns=(1, 1))  # a new signature even within the file system's time resolution
    book = source.current()
    assert (book.version, book.blood_pressure.borderline_margin_mmhg) == ("2026.12.04-1", 5)

    path.write_text(TEXT.replace("max_refills = 5", "max_refills = 9"))
    os.utime(path, ns=(2, 2))
    assert source.current().version == "2026.12.04-1"
    assert "rules_file_refused" in caplog.text


def test_a_source_does_not_start_on_a_bad_file(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_bytes(edited("max_mg = 600", "max_mg = 9000"))
    with pytest.raises(RulesFileError):
        RuleSource(path)


def run(capsys, *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        hearth(list(argv))
    return int(exited.value.code or 0), capsys.readouterr().out


def test_hearth_rules_show_on_both_sides_of_the_date(capsys):
    code, before = run(capsys, "rules", "show", "--at", "2026-12-31", "--file", str(DEFAULT_FILE))
    assert code == 0
    assert "regime: telemedicine_flexibility" in before
    assert "in-person medical evaluation before approval: not required" in before
    code, after = run(capsys, "rules", "show", "--at", "2027-01-02", "--file", str(DEFAULT_FILE))
    assert code == 0
    assert "regime: ryan_haight_in_person" in after
    assert "required (or a telemedicine special registration)" in after
    assert "at most 5 refills" in after


def test_hearth_rules_show_converts_a_time_into_the_files_zone(capsys):
    # 2027-01-01T03:00Z is 22:00 on 31 December in New York.
    code, out = run(capsys, "rules", "show", "--at", "2027-01-01T03:00:00+00:00", "--json", "--file", str(DEFAULT_FILE))
    assert code == 0
    assert '"day": "2026-12-31"' in out
    assert '"id": "telemedicine_flexibility"' in out


def test_hearth_rules_check_refuses_a_bad_file(capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(edited("effective_from = 2027-01-01", "effective_from = 2027-03-01"))
    code, out = run(capsys, "rules", "check", str(bad))
    assert code == 1
    assert "refused" in out
    assert "must start the day after" in out
    assert run(capsys, "rules", "check", str(DEFAULT_FILE))[0] == 0


def test_today_is_looked_up_in_the_files_zone():
    book = load(DEFAULT_FILE)
    assert book.local_day(datetime(2027, 1, 1, 2, tzinfo=UTC)) == date(2026, 12, 31)
    assert book.local_day(datetime(2027, 1, 1, 2, tzinfo=UTC) + timedelta(hours=3)) == date(2027, 1, 1)
