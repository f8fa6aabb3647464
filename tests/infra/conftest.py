"""The deployment package, built once per test session by `make package` as a deployer builds it."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
STAGE = "prod"  # the stage whose mistakes cost most; dev differs only by .chalice/config.json


@pytest.fixture(scope="session")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """build/package/prod as `make package STAGE=prod` makes it, in a temporary directory."""
    out = tmp_path_factory.mktemp("package")
    # -o: never rebuild .venv from inside the suite that runs in it. cfn-lint runs as its own
    # test (test_template.py), so that a lint finding reads as one failure, not as every test's.
    command = ["make", "--no-print-directory", "-o", ".venv/.requirements-installed", "package",
               f"STAGE={STAGE}", f"PACKAGE_DIR={out / STAGE}", f"PACKAGE_SRC={out / 'src'}",
               "CFN_LINT=true"]
    result = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"make package failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return out / STAGE


@pytest.fixture(scope="session")
def template(package_dir: Path) -> Dict[str, Any]:
    # Chalice writes the merged template with long-form intrinsics ({"Ref": ...}), plain YAML.
    return yaml.safe_load((package_dir / "sam.yaml").read_text())


@pytest.fixture(scope="session")
def resources(template: Dict[str, Any]) -> Dict[str, Any]:
    return template["Resources"]
