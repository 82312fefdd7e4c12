"""The HAPI FHIR validator for the tests: jars resolved by Maven once (cached in .state/fhir-validator/, again only
when validator/pom.xml changes), then one JVM per test session validating a whole batch of resources.

Java 17+ and Maven are required: without them the tests that validate fail with what to install, never skip.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
VALIDATOR = HERE.parent / "validator"
REPO = HERE.parents[2]
CACHE = Path(os.environ.get("HEARTH_FHIR_VALIDATOR_CACHE", REPO / ".state" / "fhir-validator"))
JVM_OPTIONS = ("-Xmx1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")

Outcome = dict[str, Any]
Validate = Callable[[Sequence[dict[str, Any]]], list[Outcome]]


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        package = "openjdk-17-jre-headless" if name == "java" else "maven"
        pytest.fail(f"`{name}` is not on PATH; the FHIR validation tests need it: apt-get install -y {package}")
    return found


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # another test session may be resolving the same jars
        yield


def validator_jars() -> Path:
    """The folder of validator jars, resolved from Maven Central on first use."""
    jars, stamp = CACHE / "jars", CACHE / "jars.sha256"
    digest = hashlib.sha256((VALIDATOR / "pom.xml").read_bytes()).hexdigest()
    if jars.is_dir() and stamp.exists() and stamp.read_text().strip() == digest:
        return jars
    mvn = _tool("mvn")
    with _locked(CACHE):
        if jars.is_dir() and stamp.exists() and stamp.read_text().strip() == digest:
            return jars
        work, fresh, repo = CACHE / "build", CACHE / "jars.new", CACHE / "m2"
        for folder in (work, fresh, jars, repo):
            shutil.rmtree(folder, ignore_errors=True)
        work.mkdir()
        shutil.copy(VALIDATOR / "pom.xml", work / "pom.xml")  # Maven runs outside the repository tree
        started = time.monotonic()
        command = [mvn, "-q", "-B", "-f", str(work / "pom.xml"), "dependency:copy-dependencies",
                   f"-Dmaven.repo.local={repo}", f"-DoutputDirectory={fresh}"]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=work)
        if result.returncode != 0 or not any(fresh.glob("hapi-fhir-validation-*.jar")):
            pytest.fail(f"Maven could not resolve the FHIR validator (exit {result.returncode}):\n"
                        f"{(result.stdout + result.stderr)[-4000:]}")  # fmt: skip
        fresh.rename(jars)
        for folder in (work, repo):  # the copied jars are all that is needed
            shutil.rmtree(folder, ignore_errors=True)
        stamp.write_text(digest + "\n")
        size = sum(f.stat().st_size for f in jars.iterdir()) / 2**20
        print(f"FHIR validator jars resolved in {time.monotonic() - started:.1f} s ({size:.0f} MiB)")
    return jars


def run_validator(resources: Sequence[dict[str, Any]]) -> list[Outcome]:
    """One OperationOutcome per resource, from one JVM for the whole batch."""
    java, jars = _tool("java"), validator_jars()
    command = [java, *JVM_OPTIONS, "-cp", f"{jars}/*", str(VALIDATOR / "Validate.java")]
    batch = "".join(json.dumps(r) + "\n" for r in resources)
    result = subprocess.run(command, input=batch, capture_output=True, text=True, check=False, timeout=600)
    lines = result.stdout.splitlines()
    if result.returncode != 0 or len(lines) != len(resources):
        pytest.fail(f"the FHIR validator failed (exit {result.returncode}, {len(lines)} outcome(s) for "
                    f"{len(resources)} resource(s)):\n{result.stderr[-4000:]}")  # fmt: skip
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="session")
def hapi() -> Validate:
    """`hapi(resources)` validates them all in one JVM; call it once per session with the whole batch."""
    return run_validator
