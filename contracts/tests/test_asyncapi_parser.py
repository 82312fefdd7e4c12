"""The AsyncAPI document stays valid under the official AsyncAPI parser (@asyncapi/parser, run with Node), and the
parser would tell: a document with a dangling security reference is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from hearth.contracts.generate import ASYNCAPI

CONTRACTS = Path(__file__).resolve().parents[1]
TOOL = CONTRACTS / "tools/asyncapi-validate"


@pytest.fixture(scope="module")
def validate() -> list[str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("Node.js and npm validate the AsyncAPI document (.ci/run installs them)", pytrace=False)
    if not (TOOL / "node_modules/@asyncapi/parser").is_dir():
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=TOOL, check=True, timeout=300)
    return [node, str(TOOL / "validate.mjs")]


def test_the_official_parser_accepts_the_document(validate: list[str]) -> None:
    run = subprocess.run([*validate, str(CONTRACTS / ASYNCAPI)], capture_output=True, text=True, timeout=120)

    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith("valid")


def test_the_parser_refuses_a_broken_document(validate: list[str], tmp_path: Path) -> None:
    document = json.loads((CONTRACTS / ASYNCAPI).read_text())
    document["servers"]["local"]["security"] = [{"$ref": "#/components/securitySchemes/missing"}]
    (tmp_path / "broken.json").write_text(json.dumps(document))

    run = subprocess.run([*validate, str(tmp_path / "broken.json")], capture_output=True, text=True, timeout=120)

    assert run.returncode == 1 and "invalid-ref" in run.stdout
