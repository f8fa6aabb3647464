"""Package benchmark: the size of what `make package` built, and the cold import time of app.py
as Lambda runs it.

Run with `make bench` (after bench/catalog.py), or `bench/package.py build/package/<stage>` after
`make package`. Lambda unpacks the function zip into /var/task and the layer into /opt, both
read-only, and imports app.py in a fresh interpreter. The same happens here: both zips unpacked
into a temporary directory, imported by fresh interpreters that see no other site-packages and
may not write bytecode. When the package targets another architecture than this machine (arm64
on an x86 laptop), its native extensions are swapped for this machine's builds of the same pinned
versions, taken from .venv. A second figure, with the shipped bytecode removed, shows what it
saves: without it every cold start compiles each module it imports.
"""
from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

PROJECT = Path(__file__).resolve().parent.parent
TARGET_MB = 25.0  # the budget for the zipped package (function and layer together)
LAMBDA_UNZIPPED_LIMIT_MB = 250.0  # function, layers and all, unzipped
RUNS = 9
MB = 1_000_000
ELF_MACHINES = {62: "x86_64", 183: "arm64"}

# An environment like the function's: names from the template, no credentials needed to import.
FUNCTION_ENV = {"STAGE": "prod", "AWS_REGION": "eu-west-3", "AWS_DEFAULT_REGION": "eu-west-3",
                "APPS_TABLE": "mes-prod-apps", "CATALOG_TABLE": "mes-prod-catalog",
                "PUBLIC_BASE_URL": "https://bench.invalid", "TRUSTED_ISSUERS": "[]",
                "CONSENTS_TABLE": "mes-prod-consents", "GRANTS_TABLE": "mes-prod-grants",
                "RECORDS_TABLE": "mes-prod-records", "AUDIT_TABLE": "mes-prod-audit", "CLAIM_KEY_ID": "bench",
                "DOCUMENTS_BUCKET": "bench", "SIGNING_WRAP_KEY_ID": "bench", "LOG_LEVEL": "INFO"}


def zip_sizes(path: Path) -> Tuple[int, int]:
    with zipfile.ZipFile(path) as archive:
        return path.stat().st_size, sum(info.file_size for info in archive.infolist())


def largest_distributions(layer: Path, count: int = 6) -> List[Tuple[str, int]]:
    """The top-level packages of the layer that weigh most, zipped."""
    sizes: Dict[str, int] = {}
    with zipfile.ZipFile(layer) as archive:
        for info in archive.infolist():
            parts = info.filename.split("/")
            name = parts[4] if len(parts) > 4 else info.filename  # python/lib/pythonX.Y/site-packages/<name>
            sizes[name] = sizes.get(name, 0) + info.compress_size
    return sorted(sizes.items(), key=lambda item: -item[1])[:count]


def elf_machine(path: Path) -> Optional[str]:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        return None
    return ELF_MACHINES.get(int.from_bytes(header[18:20], "little"), "other")


def swap_native_extensions(site_packages: Path) -> List[str]:
    """Replace extension modules built for another architecture with this machine's builds of the
    same versions (from .venv), so that the package can be imported here."""
    host = elf_machine(Path(sys.executable).resolve())
    venv_site = Path(sysconfig.get_paths()["purelib"])
    swapped = []
    for module in sorted(site_packages.rglob("*.so")):
        if elf_machine(module) == host:
            continue
        relative_dir = module.parent.relative_to(site_packages)
        stem = module.name.split(".")[0]
        candidates = sorted((venv_site / relative_dir).glob(f"{stem}.*.so")) + \
            sorted((venv_site / relative_dir).glob(f"{stem}.so"))
        native = next((c for c in candidates if elf_machine(c) == host), None)
        if native is None:
            raise SystemExit(f"no {host} build of {relative_dir / module.name} in {venv_site}")
        module.unlink()
        shutil.copy2(native, module.parent / native.name)
        swapped.append(str(relative_dir / stem))
    return swapped


def unpack(package_dir: Path, into: Path) -> Tuple[Path, Optional[Path]]:
    """The function zip as /var/task and the layer's site-packages as under /opt."""
    task = into / "task"
    with zipfile.ZipFile(package_dir / "deployment.zip") as archive:
        archive.extractall(task)
    layer_zip = package_dir / "layer-deployment.zip"
    if not layer_zip.exists():
        return task, None
    opt = into / "opt"
    with zipfile.ZipFile(layer_zip) as archive:
        archive.extractall(opt)
    site_packages = next(opt.glob("python/lib/python3.*/site-packages"))
    return task, site_packages


def import_seconds(task: Path, site_packages: Optional[Path]) -> Tuple[float, float]:
    """Wall and CPU seconds that one fresh interpreter spends on `import app`."""
    paths = [str(task)] + ([str(site_packages)] if site_packages else [])
    script = ("import sys, time; sys.path[:0] = %r; w = time.perf_counter(); c = time.process_time(); "
              "import app; print(time.perf_counter() - w, time.process_time() - c)" % paths)
    # -S: no site-packages of this machine, as on Lambda; -B: write no bytecode, as on /var/task.
    output = subprocess.run([sys.executable, "-S", "-B", "-c", script], cwd=task, check=True,
                            capture_output=True, text=True,
                            env={"PATH": os.environ.get("PATH", ""), **FUNCTION_ENV}).stdout
    wall, cpu = output.split()
    return float(wall), float(cpu)


def median_import(task: Path, site_packages: Optional[Path]) -> Tuple[float, float]:
    runs = [import_seconds(task, site_packages) for _ in range(RUNS)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def main() -> None:
    package_dir = Path(sys.argv[1] if len(sys.argv) > 1 else PROJECT / "build/package/dev")
    if not (package_dir / "deployment.zip").exists():
        raise SystemExit(f"{package_dir}: no deployment.zip; run `make package` first")

    print(f"\nPackage ({package_dir.relative_to(PROJECT) if package_dir.is_relative_to(PROJECT) else package_dir})")
    total_zipped = total_unzipped = 0
    for name in ("deployment.zip", "layer-deployment.zip"):
        path = package_dir / name
        if path.exists():
            zipped, unzipped = zip_sizes(path)
            total_zipped += zipped
            total_unzipped += unzipped
            print(f"  {name:<22} {zipped / MB:7.2f} MB zipped  {unzipped / MB:7.2f} MB unzipped")
    verdict = "within" if total_zipped / MB <= TARGET_MB else "OVER"
    print(f"  {'total':<22} {total_zipped / MB:7.2f} MB zipped  {total_unzipped / MB:7.2f} MB unzipped"
          f"  ({verdict} the {TARGET_MB:.0f} MB target; Lambda allows {LAMBDA_UNZIPPED_LIMIT_MB:.0f} MB unzipped)")
    layer = package_dir / "layer-deployment.zip"
    if layer.exists():
        print("  heaviest in the layer: " + ", ".join(f"{name} {size / MB:.1f} MB"
                                                      for name, size in largest_distributions(layer)))

    with tempfile.TemporaryDirectory(prefix="mes-package-bench-") as tmp:
        task, site_packages = unpack(package_dir, Path(tmp))
        swapped = swap_native_extensions(site_packages) if site_packages else []
        if swapped:
            print(f"  native extensions swapped for this machine's: {', '.join(swapped)}")
        packaged_wall, packaged_cpu = median_import(task, site_packages)
        for tree in filter(None, (task, site_packages)):
            for cache in list(tree.rglob("__pycache__")):
                shutil.rmtree(cache)
        source_wall, source_cpu = median_import(task, site_packages)

    print(f"\nCold import of app.py, median of {RUNS} fresh interpreters (this machine; Lambda's CPU at"
          f" 1024 MB is slower)")
    print(f"  as packaged (with bytecode)    {packaged_wall * 1000:7.0f} ms wall  {packaged_cpu * 1000:7.0f} ms CPU")
    print(f"  without the bytecode           {source_wall * 1000:7.0f} ms wall  {source_cpu * 1000:7.0f} ms CPU")

if __name__ == "__main__":
    main()
