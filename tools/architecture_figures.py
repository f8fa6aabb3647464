"""Architecture figures for chalicelib/: lines per file, imports between domains, and cycles
between domains and between modules. `python tools/architecture_figures.py [repository root]`.
The rules themselves are import-linter's contracts (pyproject.toml); these are the figures."""
import ast
import sys
from collections import defaultdict
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
pkg = root / "chalicelib"
mods = {}
for f in pkg.rglob("*.py"):
    if "__pycache__" in f.parts: continue
    name = ".".join(f.relative_to(root).with_suffix("").parts)
    name = name.removesuffix(".__init__")
    mods[name] = f
def domain(m):
    if m == "chalicelib.storage": return "composition"
    parts = m.split(".")
    if len(parts) >= 3 or (len(parts) == 2 and (pkg / parts[1]).is_dir()): return parts[1]
    return "kernel"
edges = defaultdict(set); cross = 0; medges = defaultdict(set)
for m, f in mods.items():
    tree = ast.parse(f.read_text())
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("chalicelib"):
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.startswith("chalicelib")]
        for t in targets:
            if t in mods and t != m:
                medges[m].add(t)
                a, b = domain(m), domain(t)
                if a != b:
                    edges[a].add(b)
        if isinstance(node, ast.ImportFrom) and node.module in mods and domain(node.module) != domain(m) \
                and "kernel" not in (domain(node.module), domain(m)):
            cross += 1
def cycles(g):
    found = set()
    def dfs(start, node, path):
        for n in g.get(node, ()):
            if n == start: found.add(tuple(sorted(path)))
            elif n not in path and n > start: dfs(start, n, path + [n])
    for s in list(g): dfs(s, s, [s])
    return found
lines = sorted(((len(f.read_text().splitlines()), m) for m, f in mods.items()), reverse=True)
print("modules:", len(mods), "total lines:", sum(l for l, _ in lines))
print("files over 300 lines:", [(m, l) for l, m in lines if l > 300])
print("imports between domains, kernel excluded (from-import statements):", cross)
print("domain graph:", {k: sorted(v) for k, v in sorted(edges.items())})
print("domain cycles:", sorted(cycles(edges)))
mc = cycles(medges)
print("module cycles:", len(mc), sorted(mc)[:20])
