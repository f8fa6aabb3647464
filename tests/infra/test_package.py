"""The Lambda zips: what they carry, and that the packaged handler answers without the repository."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Set

import pytest

from bench.package import ELF_MACHINES, FUNCTION_ENV, swap_native_extensions, unpack
from tests.infra.cfn import FUNCTIONS, Resources, function, role_statements
from tests.helpers.project import PROJECT

SITE = "python/lib/python{}.{}/site-packages/".format(*sys.version_info[:2])
# The chalice CLI and what it pulls in; the function needs only chalice/app.py, which Chalice adds.
BUILD_TOOLS = ("chalice", "pip", "setuptools", "wheel", "click", "inquirer", "blessed")


def names(path: Path) -> List[str]:
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_function_zip_carries_the_app_and_the_catalog_data(package_dir: Path) -> None:
    packaged = set(names(package_dir / "deployment.zip"))
    assert {"app.py", "chalice/app.py", "chalicelib/config.py"} <= packaged
    data = {f"chalicelib/catalog_data/{path.relative_to(PROJECT / 'catalog').as_posix()}"
            for path in (PROJECT / "catalog").rglob("*") if path.is_file()}
    assert data and data <= packaged


def test_layer_ships_the_pinned_requirements_and_no_build_tools(package_dir: Path) -> None:
    top_level = {name[len(SITE):].split("/")[0] for name in names(package_dir / "layer-deployment.zip")
                 if name.startswith(SITE)}
    distributions = {entry[:-len(".dist-info")].lower() for entry in top_level if entry.endswith(".dist-info")}
    for line in (PROJECT / "requirements.txt").read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)(\[[^]]*\])?==(\S+)", line.strip())
        if match and match.group(1).lower() != "chalice":
            wanted = f"{re.sub(r'[-.]+', '_', match.group(1)).lower()}-{match.group(3)}"
            assert wanted in distributions, f"{line} is not in the layer at that version"
    assert not [tool for tool in BUILD_TOOLS if tool in top_level]


def test_native_extensions_are_built_for_the_functions_architecture(package_dir: Path, resources: Resources) -> None:
    (architecture,) = function(resources)["Properties"]["Architectures"]
    with zipfile.ZipFile(package_dir / "layer-deployment.zip") as archive:
        extensions = [name for name in archive.namelist() if name.endswith(".so")]
        assert extensions
        for name in extensions:
            header = archive.read(name)[:20]
            machine = ELF_MACHINES.get(int.from_bytes(header[18:20], "little"))
            assert machine == architecture, name


def bytecode_of(source: str) -> str:
    """Where Python looks for the bytecode of a module, inside the zip."""
    directory, _, filename = source.rpartition("/")
    return f"{directory}/__pycache__/{filename[:-3]}.{sys.implementation.cache_tag}.pyc".lstrip("/")


def test_every_module_ships_with_bytecode_for_the_runtime(package_dir: Path, resources: Resources) -> None:
    # Bytecode is valid only for the Python version that wrote it: the runtime Chalice chose
    # from this interpreter's version, which compiled it.
    assert function(resources)["Properties"]["Runtime"] == "python{}.{}".format(*sys.version_info[:2])
    for zip_name in ("deployment.zip", "layer-deployment.zip"):
        packaged = set(names(package_dir / zip_name))
        sources = [name for name in packaged if name.endswith(".py")]
        missing = [source for source in sources if bytecode_of(source) not in packaged]
        assert sources and not missing, missing[:5]


def test_sdk_service_models_are_those_the_role_allows(package_dir: Path, resources: Resources) -> None:
    # CloudWatch Logs receives the function's output from Lambda itself, never through the SDK.
    allowed = {action.split(":")[0] for name in FUNCTIONS for s in role_statements(resources, name) for action in
               (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])} - {"logs"}
    shipped: Set[str] = {name[len(SITE + "botocore/data/"):].split("/")[0]
                         for name in names(package_dir / "layer-deployment.zip")
                         if name.startswith(SITE + "botocore/data/") and name.count("/") > 7}
    assert shipped == allowed


@pytest.fixture(scope="module")
def unpacked(package_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    task, site_packages = unpack(package_dir, tmp_path_factory.mktemp("lambda"))
    assert site_packages is not None
    swap_native_extensions(site_packages)
    return {"task": task, "site": site_packages}


# Run in a fresh interpreter that sees only the two unpacked zips, as Lambda does.
_HANDLER_SMOKE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import boto3, botocore.exceptions
import app
from chalicelib.config import settings

def get(path):
    event = {"resource": path, "path": path, "httpMethod": "GET", "headers": {"Accept": "application/json"},
             "multiValueHeaders": {}, "queryStringParameters": None, "multiValueQueryStringParameters": None,
             "pathParameters": None, "stageVariables": None, "body": None, "isBase64Encoded": False,
             "requestContext": {"resourcePath": path, "httpMethod": "GET", "requestId": "smoke",
                                "path": "/api" + path, "stage": "api", "identity": {"sourceIp": "192.0.2.1"}}}
    response = app.app(event, None)
    return response["statusCode"], json.loads(response["body"])

clients = {}
for service in json.loads(sys.argv[3]) + ["sts"]:
    try:
        boto3.client(service, region_name="eu-west-3")
        clients[service] = "ok"
    except botocore.exceptions.UnknownServiceError:
        clients[service] = "unknown"
status, body = get("/catalog/referential")
print(json.dumps({"catalog_dir": str(settings.catalog_dir), "clients": clients, "status": status,
                  "criteria": len(body.get("criteria", [])), "openapi": get("/openapi.json")[0]}))
"""


def test_packaged_handler_answers_from_its_own_data(unpacked: Dict[str, Path]) -> None:
    services = ["dynamodb", "kms", "s3", "secretsmanager"]
    result = subprocess.run(
        [sys.executable, "-S", "-B", "-c", _HANDLER_SMOKE, str(unpacked["task"]), str(unpacked["site"]),
         json.dumps(services)],
        cwd=unpacked["task"], capture_output=True, text=True, env={**FUNCTION_ENV, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["catalog_dir"] == str(unpacked["task"] / "chalicelib" / "catalog_data")
    assert report["status"] == 200 and report["criteria"] > 0 and report["openapi"] == 200
    assert report["clients"] == {**{s: "ok" for s in services}, "sts": "unknown"}

