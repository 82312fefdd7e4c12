"""The README shows the rule table exactly as the code has it, and documents every setting of the service."""

from __future__ import annotations

from pathlib import Path

from hearth.kit.settings import KitSettings
from hearth.rules import DEFAULT_FILE, load
from hearth.screening.domain import rules_table
from hearth.screening.settings import ScreeningSettings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_the_readme_rule_table_is_the_code_rule_table():
    # The defaults, whatever the environment says: the packaged rules file and no overriding setting.
    criteria = ScreeningSettings.model_construct().criteria(load(DEFAULT_FILE))
    shown = README.split("<!-- rules:start -->\n", 1)[1].split("<!-- rules:end -->", 1)[0].strip()
    assert shown == rules_table(criteria)


def test_every_own_setting_is_documented():
    own = set(ScreeningSettings.model_fields) - set(KitSettings.model_fields)
    assert own
    for name in own:
        assert f"`HEARTH_{name.upper()}`" in README, name
