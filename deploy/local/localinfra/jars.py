"""The broker's jars: resolved from Maven Central once (per pom.xml), then shared by every state folder."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

from .common import HERE, Echo, InfraError
from .files import locked


def kafka_classpath(jar_cache: Path, echo: Echo, timings: dict[str, float]) -> Path:
    """The folder of broker jars: resolved with Maven once, then shared by every state folder."""
    jars, stamp = jar_cache / "jars", jar_cache / "jars.sha256"
    digest = hashlib.sha256((HERE / "pom.xml").read_bytes()).hexdigest()

    def cached() -> bool:
        return jars.is_dir() and stamp.exists() and stamp.read_text().strip() == digest

    if cached():
        return jars
    with locked(jar_cache):  # another process may be resolving the same jars right now
        if not cached():
            _resolve_jars(jar_cache, jars, echo, timings)
            stamp.write_text(digest + "\n")
    return jars


def _resolve_jars(jar_cache: Path, jars: Path, echo: Echo, timings: dict[str, float]) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise InfraError("Maven (`mvn`) is not on PATH: apt-get install -y maven")
    echo(f"Resolving the Kafka jars from Maven Central into {jar_cache} (once)")
    started = time.monotonic()
    work, fresh = jar_cache / "build", jar_cache / "jars.new"
    for folder in (work, fresh):
        shutil.rmtree(folder, ignore_errors=True)
    work.mkdir()
    shutil.copy(HERE / "pom.xml", work / "pom.xml")  # Maven runs outside the repository tree
    cmd = [mvn, "-q", "-B", "-f", str(work / "pom.xml"), "dependency:copy-dependencies",
           f"-Dmaven.repo.local={jar_cache / 'm2'}", f"-DoutputDirectory={fresh}"]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=work)
    if result.returncode != 0 or not any(fresh.glob("kafka_2.13-*.jar")):
        output = (result.stdout + result.stderr)[-4000:]
        raise InfraError(f"Maven could not resolve the Kafka jars (exit {result.returncode}):\n{output}")
    shutil.rmtree(jars, ignore_errors=True)
    fresh.rename(jars)
    shutil.rmtree(work, ignore_errors=True)
    timings["kafka_jars"] = time.monotonic() - started
    echo(f"Kafka jars resolved in {timings['kafka_jars']:.1f} s")
