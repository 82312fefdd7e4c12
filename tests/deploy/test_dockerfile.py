"""deploy/docker/Dockerfile: hadolint clean, and the image rules that no linter checks."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import pytest

DOCKERFILE = "deploy/docker/Dockerfile"


@pytest.fixture(scope="module")
def dockerfile(helpers) -> str:
    return (helpers.ROOT / DOCKERFILE).read_text()


@pytest.fixture(scope="module")
def stages(dockerfile) -> dict[str, list[str]]:
    """Instructions (continuation lines joined) of each stage, by stage name."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]
    result: dict[str, list[str]] = {}
    current = "(global)"
    for line in lines:
        if line.upper().startswith("FROM "):
            current = line.split()[-1]
            result[current] = []
        result.setdefault(current, []).append(line)
    return result


def test_hadolint_finds_nothing(helpers):
    result = helpers.run([helpers.tool("hadolint"), "--no-color", DOCKERFILE], check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_with_a_small_final_stage(stages):
    assert list(stages) == ["(global)", "builder", "runtime"]
    runtime = " ".join(stages["runtime"])
    assert stages["runtime"][0].startswith("FROM ${PYTHON_IMAGE}")
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in stages["(global)"][0]
    copies = [line for line in stages["runtime"] if line.startswith("COPY")]
    assert copies == ["COPY --from=builder /app/.venv /app/.venv"]  # only the virtual environment
    for tool in ("uv", "pip install", "apt-get", "curl", "wget", "gcc", "build-essential"):
        assert not re.search(rf"\b{re.escape(tool)}\b", runtime.replace("/app/.venv", "")), tool


def test_builder_installs_only_the_services_locked_dependencies(stages):
    runs = [line for line in stages["builder"] if line.startswith("RUN") and "uv sync" in line]
    assert len(runs) == 1
    (options,) = re.findall(r"uv sync ([^&]*)", runs[0])
    for option in ("--frozen", "--no-dev", "--no-editable", '--package "hearth-${SERVICE}"'):
        assert option in options, option  # the lock as it is, no dev tools, wheels rather than links to /src
    assert "--mount=type=bind,source=.,target=/src" in runs[0]
    assert "UV_PROJECT_ENVIRONMENT=/app/.venv" in " ".join(stages["builder"])


def test_runs_as_a_non_root_user_with_a_health_check(stages):
    runtime = stages["runtime"]
    users = [line for line in runtime if line.startswith("USER ")]
    assert users == ["USER 10001:10001"]
    assert any("useradd --system --uid 10001" in line for line in runtime)
    (health,) = [line for line in runtime if line.startswith("HEALTHCHECK")]
    assert "urllib.request" in health and "/healthz" in health and "HEARTH_HTTP_PORT" in health
    assert 'ENTRYPOINT ["/app/.venv/bin/hearth-service"]' in runtime
    assert 'CMD ["serve"]' in runtime
    # read-only root filesystem: no bytecode written at run time, the venv compiled at build time
    assert any("PYTHONDONTWRITEBYTECODE=1" in line for line in runtime)


def test_no_floating_tags(dockerfile):
    for image in re.findall(r"^(?:FROM|ARG PYTHON_IMAGE=)\s*(\S+)", dockerfile, flags=re.MULTILINE):
        assert not image.endswith(":latest"), image
    assert "uv==${UV_VERSION}" in dockerfile and re.search(r"ARG UV_VERSION=\d+\.\d+\.\d+", dockerfile)


def test_every_workspace_member_is_in_the_build_context(helpers):
    """uv resolves the workspace from every member's pyproject.toml, so each member must reach the build."""
    root = tomllib.loads((helpers.ROOT / "pyproject.toml").read_text())
    members = sorted(
        str(path.relative_to(helpers.ROOT))
        for pattern in root["tool"]["uv"]["workspace"]["members"]
        for path in helpers.ROOT.glob(pattern)
        if (path / "pyproject.toml").exists()
    )
    assert len(members) >= 6
    rules = _rules(helpers)
    for member in members:
        for path in ("pyproject.toml", "README.md", "src/hearth/__init__.py"):
            assert _included(f"{member}/{path}", rules), f"{member}/{path}"


def _rules(helpers) -> list[str]:
    return [
        line.strip()
        for line in (helpers.ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def _included(path: str, rules: list[str]) -> bool:
    """.dockerignore semantics (last matching rule wins; `!` re-includes; a directory rule covers its contents)."""
    included = True
    for rule in rules:
        negate = rule.startswith("!")
        pattern = rule[1:] if negate else rule
        pattern = pattern.rstrip("/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if pattern == "**" or any(fnmatch.fnmatch(p, pattern) for p in prefixes):
            included = negate
        if pattern.startswith("**/") and any(fnmatch.fnmatch(part, pattern[3:]) for part in parts):
            included = negate
    return included


def test_dockerignore_sends_the_sources_and_nothing_else(helpers):
    rules = _rules(helpers)
    for path in (
        "pyproject.toml",
        "uv.lock",
        "contracts/pyproject.toml",
        "contracts/src/hearth/contracts/catalog.py",
        "libs/kit/src/hearth/kit/app.py",
        "libs/kit/src/hearth/kit/sql/0001_outbox.sql",
        "services/session/pyproject.toml",
        "services/session/README.md",
        "services/session/src/hearth/session/main.py",
    ):
        assert _included(path, rules), path
    for path in (
        ".git/config",
        ".venv/bin/python",
        ".state/local/kafka.log",
        "tests/test_infra_roundtrip.py",
        "services/session/tests/test_domain.py",
        "contracts/tests/test_schemas.py",
        "deploy/k8s/base/kustomization.yaml",
        "services/session/src/hearth/session/__pycache__/main.cpython-311.pyc",
    ):
        assert not _included(path, rules), path
