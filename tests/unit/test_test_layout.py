"""The tests' own layout: no module imports a test module or a conftest.py. What several modules
share lives in tests/helpers/, shared fixtures in the conftest.py of the directory that uses them,
so that a test module can be read, run, moved or deleted on its own, and a bench never runs a
test module's import-time code."""
import ast
from pathlib import Path

import pytest

from tests.helpers.project import PROJECT

SOURCES = sorted([*PROJECT.glob("tests/**/*.py"), *PROJECT.glob("bench/*.py")])


def imported_files(path: Path, source: str):
    """(line, file) for each of the project's files that `source`, the text of `path`, imports.
    `from a import b` may import the module a.b: both a and a.b are looked for."""
    package = path.relative_to(PROJECT).parent.parts
    for node in ast.walk(ast.parse(source, str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            start = package[:len(package) - node.level + 1] if node.level else ()
            base = ".".join([*start, *([node.module] if node.module else [])])
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            file = PROJECT.joinpath(*name.split(".")).with_suffix(".py")
            if file.is_file():
                yield node.lineno, file


def imports_of(kind):
    """Every import, in tests/ and bench/, of a file `kind` says yes to, as "file:line: imported"."""
    return [f"{path.relative_to(PROJECT)}:{line}: {file.relative_to(PROJECT)}"
            for path in SOURCES for line, file in imported_files(path, path.read_text(encoding="utf-8"))
            if kind(file)]


def test_the_check_reads_the_tests_and_the_benches():
    read = {path.relative_to(PROJECT).as_posix() for path in SOURCES}
    assert {"tests/conftest.py", "tests/api/test_authorize_api.py", "tests/helpers/oauth.py",
            "bench/oauth.py", "tests/unit/test_test_layout.py"} <= read


@pytest.mark.parametrize("statement", ["import tests.api.test_authorize_api",
                                       "import tests.api.test_authorize_api as authorize",
                                       "from tests.api.test_authorize_api import pkce",
                                       "from tests.api import test_authorize_api",
                                       "from .test_authorize_api import pkce",
                                       "from . import test_authorize_api",
                                       "def later():\n    from tests.api.test_authorize_api import pkce"])
def test_the_check_sees_every_spelling_of_an_import(statement):
    here = PROJECT / "tests" / "api" / "test_example.py"
    assert [file.name for _, file in imported_files(here, statement)] == ["test_authorize_api.py"]


def test_no_module_imports_a_test_module():
    assert imports_of(lambda file: file.name.startswith("test_")) == [], \
        "move what is shared to tests/helpers/, or the fixture to a conftest.py"


def test_no_module_imports_a_conftest():
    """pytest loads each conftest.py itself; a module that imports one couples to its fixtures and
    hooks. Constants go to tests/helpers/."""
    assert imports_of(lambda file: file.name == "conftest.py") == []
