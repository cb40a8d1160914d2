"""The locks in requirements/ are what every environment installs, and they agree.

Why: an install that resolves at install time is not reproducible (older boto3/moto that
pyproject.toml once allowed failed fault-injection tests), and the Lambda layer must run the
botocore the tests ran (``byok.aws.sessions`` uses botocore internals).
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCKS = {
    "dev": ROOT / "requirements" / "dev.txt",
    "tools-sam": ROOT / "requirements" / "tools-sam.txt",
    "tools-peers": ROOT / "requirements" / "tools-peers.txt",
    "tools-lock": ROOT / "requirements" / "tools-lock.txt",
    "layer": ROOT / "layers" / "byok" / "requirements.txt",
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)\s*\\$")
HASH = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}(\s*\\)?$")


def pins(path: Path) -> dict[str, str]:
    """``name -> version`` of a pip-compile lock; fails on anything that is not pinned + hashed."""
    found: dict[str, str] = {}
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if HASH.match(line):
            continue
        match = PIN.match(line)
        assert match, f"{path.name}:{number}: not an exact pin with hashes: {line!r}"
        assert HASH.match(lines[number]), f"{path.name}:{number}: {match[1]} has no hash"
        found[canonicalize_name(match[1])] = match[2]
    assert found, f"{path} pins nothing"
    return found


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_every_lock_is_exact_pins_with_hashes_and_no_local_paths(name: str) -> None:
    text = LOCKS[name].read_text()
    pins(LOCKS[name])
    for marker in ("/tmp/", "file://", "/work/", "/opt/", "\n-e "):
        assert marker not in text, f"{name} lock names a local path ({marker!r})"


def test_layer_pins_the_versions_of_the_dev_lock() -> None:
    dev, layer = pins(LOCKS["dev"]), pins(LOCKS["layer"])
    for name in ("boto3", "botocore", "aws-lambda-powertools", "pydantic"):
        assert name in layer, f"the layer does not pin {name}"
    assert {n: v for n, v in layer.items() if dev.get(n) != v} == {}


def _pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [
        Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]
    ]


def test_pyproject_lower_bounds_hold_for_the_lock_and_are_not_below_known_failures() -> None:
    dev = pins(LOCKS["dev"])
    for req in _pyproject_requirements():
        name = canonicalize_name(req.name)
        assert name in dev, f"{req.name} is a dependency but not in requirements/dev.txt"
        assert Version(dev[name]) in req.specifier, f"lock {name}=={dev[name]} outside {req}"
        lower = [Version(s.version) for s in req.specifier if s.operator in (">=", "~=", "==")]
        assert lower, f"{req} has no lower bound"
    # versions that failed the fault-injection tests are no longer allowed
    bounds = {canonicalize_name(r.name): r.specifier for r in _pyproject_requirements()}
    assert Version("1.43.127") not in bounds["botocore"]
    assert Version("1.43.108") not in bounds["boto3"]
    assert Version("5.2.1") not in bounds["moto"]


def test_this_venv_runs_the_dev_lock() -> None:
    wrong = {}
    for name, version in pins(LOCKS["dev"]).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (installed, version)
    assert wrong == {}, "installed != locked (run `make venv`)"


def _make_plan(target: str) -> str:
    out = subprocess.run(
        ["make", "-n", "-B", "-C", str(ROOT), target], capture_output=True, text=True, check=True
    )
    return out.stdout


@pytest.mark.parametrize(
    ("target", "env", "lock"),
    [
        ("venv", ".venv", "requirements/dev.txt"),
        ("tools-sam", ".venv-tools/sam", "requirements/tools-sam.txt"),
        ("tools-peers", ".venv-tools/peers", "requirements/tools-peers.txt"),
    ],
)
def test_make_installs_each_environment_from_its_lock_only(
    target: str, env: str, lock: str
) -> None:
    plan = _make_plan(target)
    installs = [line for line in plan.splitlines() if " -m pip install" in line]
    assert installs, plan
    assert f"{env}/bin/python -m pip install" in installs[0]
    assert f"--require-hashes --no-deps -r {lock}" in installs[0]
    for line in installs[1:]:  # the editable package itself: no dependency resolution
        assert "--no-deps" in line and "--no-build-isolation" in line, line


def test_make_test_builds_venv_from_the_lock_and_rebuilds_it_when_the_lock_changes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^\$\(BIN\)/byok: pyproject\.toml requirements/dev\.txt$", makefile, re.M)
    assert re.search(r"^test: lint check$", makefile, re.M)
    assert re.search(r"^lint: venv$", makefile, re.M)
    lock_plan = _make_plan("lock")
    assert "--generate-hashes" in lock_plan
    assert "-o layers/byok/requirements.txt" in lock_plan
    assert "-c requirements/dev.txt" in lock_plan
