"""The built wheel of hearth-contracts carries the JSON Schemas, the AsyncAPI document and the subscriber registry,
and the installed package reads them (``hearth.contracts.published``) without the source tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hearth.contracts import CATALOG
from hearth.contracts.published import asyncapi, schema
from hearth.contracts.schema import event_schema

CONTRACTS = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = shutil.which("uv")
    assert uv, "uv builds the wheel (pip install uv)"
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([uv, "build", "--wheel", str(CONTRACTS), "-o", str(out)], check=True, capture_output=True)
    [built] = out.glob("hearth_contracts-*.whl")
    return built


def test_the_wheel_holds_every_schema_the_asyncapi_document_and_the_registry(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())

    for spec in CATALOG.values():
        assert f"hearth/contracts/schemas/{spec.topic}.json" in names
    assert {"hearth/contracts/asyncapi.json", "hearth/contracts/subscribers.toml", "hearth/contracts/py.typed"} <= names


def test_the_installed_package_reads_its_documents_outside_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path)
    script = (
        "import json, hearth.contracts as c, hearth.contracts.published as p, hearth.contracts.subscribers as s\n"
        "print(json.dumps([c.__file__, len(p.asyncapi()['channels']), p.schema('screening.approved.v1')['$id'],"
        " sorted(s.SUBSCRIBERS)]))"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    where, channels, schema_id, subscribers = json.loads(run.stdout)
    assert where.startswith(str(tmp_path))  # the wheel's copy, not the workspace's
    assert channels == len(CATALOG)
    assert schema_id == CATALOG["org.hearth.screening.approved.v1"].dataschema
    assert subscribers


def test_the_published_documents_are_the_generated_ones() -> None:
    spec = CATALOG["org.hearth.session.session-started.v1"]
    assert schema(spec.type) == schema(spec.topic) == event_schema(spec)
    assert set(asyncapi()["channels"]) == {s.topic for s in CATALOG.values()}
