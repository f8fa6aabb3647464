"""The deployment package, built once per test session by `make package` as a deployer builds it."""
from __future__ import annotations

import fcntl
import subprocess
import warnings
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from tests.helpers.project import PROJECT

STAGE = "prod"  # the stage whose mistakes cost most; dev differs only by .chalice/config.json


@pytest.fixture(scope="session")
def package_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """build/package/prod as `make package STAGE=prod` makes it, in a temporary directory: once per
    test session, even when pytest-xdist spreads tests/infra over several workers (the first one
    builds in the session's shared temporary directory, under a lock; the others wait and reuse)."""
    if worker_id == "master":  # one process
        return _build(tmp_path_factory.mktemp("package"))
    shared = tmp_path_factory.getbasetemp().parent  # this session's, shared by its workers
    with open(shared / "package.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = shared / "package"
        if not (out / "built").exists():
            out.mkdir(exist_ok=True)
            _build(out)
            (out / "built").touch()
        return out / STAGE


def _build(out: Path) -> Path:
    # -o: never rebuild .venv from inside the suite that runs in it. cfn-lint runs as its own
    # test (test_template.py), so that a lint finding reads as one failure, not as every test's.
    # The layer is built afresh in a cache of this session's own, as on a fresh machine: nothing
    # else (a developer's `make package` in build/) can share or half-write it.
    cache = out / "chalice-deployments"
    command = ["make", "--no-print-directory", "-o", ".venv/.requirements-installed", "package",
               f"STAGE={STAGE}", f"PACKAGE_DIR={out / STAGE}", f"PACKAGE_SRC={out / 'src'}",
               f"CHALICE_CACHE={cache}", "CFN_LINT=true"]
    # The build downloads the layer's wheels from PyPI: a failure is tried once more (a registry
    # hiccup is not the package's fault), and reported as a warning when the second try succeeds.
    first = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True)
    if first.returncode == 0:
        return out / STAGE
    failure = f"{first.stdout[-4000:]}\n{first.stderr[-4000:]}\n{_describe(cache)}"
    second = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True)
    if second.returncode != 0:
        pytest.fail(f"make package failed twice; the first time:\n{failure}\nthe second time:\n"
                    f"{second.stdout[-4000:]}\n{second.stderr[-4000:]}\n{_describe(cache)}")
    warnings.warn(f"make package succeeded on its second try; the first failed:\n{failure}", stacklevel=2)
    return out / STAGE


def _describe(cache: Path) -> str:
    """What the layer cache held when the build failed: each file's size and first bytes."""
    if not cache.is_dir():
        return f"{cache}: no such directory"
    lines = [f"{cache}:"]
    for entry in sorted(cache.iterdir()):
        with entry.open("rb") as handle:
            lines.append(f"  {entry.name}: {entry.stat().st_size} bytes, starts {handle.read(16)!r}")
    return "\n".join(lines)


@pytest.fixture(scope="session")
def template(package_dir: Path) -> Dict[str, Any]:
    # Chalice writes the merged template with long-form intrinsics ({"Ref": ...}), plain YAML.
    return yaml.safe_load((package_dir / "sam.yaml").read_text())


@pytest.fixture(scope="session")
def resources(template: Dict[str, Any]) -> Dict[str, Any]:
    return template["Resources"]
