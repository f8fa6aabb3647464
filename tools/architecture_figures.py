"""Architecture figures for chalicelib/: lines per file, imports between domains, and cycles
between domains and between modules. `python tools/architecture_figures.py [repository root]`.
The rules themselves are import-linter's contracts (pyproject.toml); these are the figures that
the notes on issue 13 compare."""
from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Set, Tuple

Graph = Dict[str, Set[str]]


def modules_of(root: Path) -> Dict[str, Path]:
    found = {}
    for path in (root / "chalicelib").rglob("*.py"):
        if "__pycache__" not in path.parts:
            found[".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")] = path
    return found


def domain_of(module: str, root: Path) -> str:
    """A package under chalicelib/ is a domain; its top-level modules are the kernel, except the
    composition root (storage)."""
    if module == "chalicelib.storage":
        return "composition"
    parts = module.split(".")
    if len(parts) >= 3 or (len(parts) == 2 and (root / "chalicelib" / parts[1]).is_dir()):
        return parts[1]
    return "kernel"


def imported(tree: ast.AST, modules: Dict[str, Path]) -> Iterable[Tuple[str, bool]]:
    """(module imported, whether by a `from ... import` statement of its own) for each import."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chalicelib"):
            if node.module in modules:
                yield node.module, True
            for alias in node.names:
                if f"{node.module}.{alias.name}" in modules:
                    yield f"{node.module}.{alias.name}", False
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    yield alias.name, True


def cycles(graph: Graph) -> List[Tuple[str, ...]]:
    """Every elementary cycle, each as the sorted tuple of its members."""
    found: Set[Tuple[str, ...]] = set()

    def walk(start: str, node: str, path: List[str]) -> None:
        for successor in graph.get(node, ()):
            if successor == start:
                found.add(tuple(sorted(path)))
            elif successor not in path and successor > start:
                walk(start, successor, path + [successor])

    for start in list(graph):
        walk(start, start, [start])
    return sorted(found)


def main(root: Path) -> None:
    modules = modules_of(root)
    domains: Graph = defaultdict(set)
    module_graph: Graph = defaultdict(set)
    between_domains = 0
    for module, path in modules.items():
        for target, statement in imported(ast.parse(path.read_text()), modules):
            if target == module:
                continue
            module_graph[module].add(target)
            source_domain, target_domain = domain_of(module, root), domain_of(target, root)
            if source_domain != target_domain:
                domains[source_domain].add(target_domain)
                if statement and "kernel" not in (source_domain, target_domain):
                    between_domains += 1
    lines = sorted(((len(path.read_text().splitlines()), module) for module, path in modules.items()), reverse=True)
    print("modules:", len(modules), "lines:", sum(count for count, _ in lines))
    print("files over 300 lines:", [(module, count) for count, module in lines if count > 300])
    print("imports between domains, kernel excluded (statements):", between_domains)
    print("domain graph:", {name: sorted(targets) for name, targets in sorted(domains.items())})
    print("domain cycles:", cycles(domains))
    print("module cycles:", cycles(module_graph))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
