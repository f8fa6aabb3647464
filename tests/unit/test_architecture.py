"""The architecture's one-way doors, as import-linter checks them (the contracts in pyproject.toml,
drawn in docs/architecture.md): kept by the code, and each one broken when an import breaks it."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# For each contract, an import that breaks it: a module of a lower layer importing a higher one.
BREAKING = {
    "layers": ("chalicelib/catalog/service.py", "from chalicelib.consent import service as _upward"),
    "kernel": ("chalicelib/edge.py", "from chalicelib.catalog import models as _domain"),
    "record-store": ("chalicelib/records/service.py", "from chalicelib.fhir import gate as _api"),
    "authorization-server": ("chalicelib/oauth/scopes.py", "from chalicelib.fhir import routes as _api"),
    "identity": ("chalicelib/identity/citizens.py", "from chalicelib.oauth import models as _upward"),
    "consent-store": ("chalicelib/consent/service.py", "from pynamodb import models as _table"),
    "grant-store": ("chalicelib/oauth/grants.py", "from pynamodb import exceptions as _table"),
    "record-rules-store": ("chalicelib/records/service.py", "from pynamodb import models as _table"),
    "catalog-store": ("chalicelib/catalog/service.py", "from pynamodb import models as _table"),
    "identity-store": ("chalicelib/identity/signin.py", "from pynamodb import exceptions as _table"),
    "export-store": ("chalicelib/export/service.py", "from pynamodb import models as _table"),
}


def lint_imports(root: Path, *contracts: str) -> subprocess.CompletedProcess:
    args = [str(LINT_IMPORTS), "--no-cache", *[part for c in contracts for part in ("--contract", c)]]
    return subprocess.run(args, cwd=root, capture_output=True, text=True)


def test_the_code_keeps_every_contract() -> None:
    result = lint_imports(PROJECT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def copy_of_the_code(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("architecture")
    shutil.copytree(PROJECT / "chalicelib", root / "chalicelib",
                    ignore=shutil.ignore_patterns("__pycache__", "catalog_data"))
    shutil.copy(PROJECT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.mark.parametrize("contract", sorted(BREAKING))
def test_each_contract_fails_when_an_import_breaks_it(copy_of_the_code: Path, contract: str) -> None:
    path, statement = BREAKING[contract]
    module = copy_of_the_code / path
    original = module.read_text()
    module.write_text(original + f"\n{statement}  # breaks the contract\n")
    try:
        result = lint_imports(copy_of_the_code, contract)
    finally:
        module.write_text(original)
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout and statement.split()[1] in result.stdout


def test_the_code_passes_the_linter() -> None:
    """ruff over the whole repository (the service, its tools, tests and benches), as configured in
    pyproject.toml: pyflakes, pycodestyle, bugbear, blind excepts, bandit and naming."""
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run([str(ruff), "check", "--no-cache"], cwd=PROJECT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_passes_the_type_checker() -> None:
    """mypy on chalicelib/, as configured in pyproject.toml."""
    mypy = Path(sys.executable).with_name("mypy")
    result = subprocess.run([str(mypy), "--no-incremental"], cwd=PROJECT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_module_over_300_lines_says_why_at_its_top() -> None:
    """Long files are where a new maintainer gets lost: each one says why it is long, in its
    docstring, or it is split."""
    unexplained = []
    for path in sorted((PROJECT / "chalicelib").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 300 and "Longer than 300 lines:" not in "\n".join(text.splitlines()[:20]):
            unexplained.append(str(path.relative_to(PROJECT)))
    assert unexplained == []
