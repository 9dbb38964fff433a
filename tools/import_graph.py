"""Count the package layout's shape: top-level entries, import cycles and imports that run back up.

Usage: ``python tools/import_graph.py [src/seqprep]``. Every import counts, including those
inside functions (they still make one module depend on another). Modules are grouped into
*units*: a sub-package is one unit, a top-level module is one unit.

* cycles: strongly connected components of the module graph with more than one module;
* unit cycles: the same on the graph of units (an import between two packages that also
  runs the other way);
* layers: the longest path from the sinks of the unit graph once its cycles are collapsed;
* back-up imports: imports between two units of one cycle (each closes the cycle, so in any
  layering at least one of them runs from a lower layer back up).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(root: Path, path: Path, modules: set[str]) -> set[str]:
    name = module_name(root, path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            # `from pkg import sub` depends on the module `sub`; `from mod import name` on `mod`.
            subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in modules]
            targets = subs if len(subs) == len(node.names) else [mod, *subs]
        for t in targets:
            while t and t not in modules:
                t = t.rsplit(".", 1)[0] if "." in t else ""
            if t and t != name:
                found.add(t)
    return found


def sccs(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    return out


def main(root: Path) -> None:
    files = sorted(p for p in root.rglob("*.py"))
    modules = {module_name(root, p) for p in files}
    graph = {module_name(root, p): imports_of(root, p, modules) for p in files}
    top = root.name

    def unit(m: str) -> str:
        parts = m.split(".")
        return ".".join(parts[:2]) if len(parts) > 1 else m

    # Package __init__ files re-export their own private modules: they are the face, not a cycle.
    mod_cycles = [c for c in sccs(graph) if len(c) > 1]
    ugraph: dict[str, set[str]] = {}
    for m, deps in graph.items():
        if m == top:
            continue  # the root face re-exports everything
        ugraph.setdefault(unit(m), set()).update(unit(d) for d in deps if unit(d) != unit(m) and d != top)
    unit_cycles = [c for c in sccs(ugraph) if len(c) > 1]
    # layers on the condensed unit graph
    comp_of = {u: i for i, c in enumerate(sccs(ugraph)) for u in c}
    cgraph: dict[int, set[int]] = {}
    for u, deps in ugraph.items():
        cgraph.setdefault(comp_of[u], set()).update(comp_of[d] for d in deps if comp_of[d] != comp_of[u])
    layer: dict[int, int] = {}

    def depth(c: int) -> int:
        if c not in layer:
            layer[c] = 1 + max((depth(d) for d in cgraph.get(c, ())), default=-1)
        return layer[c]

    for c in cgraph:
        depth(c)
    # An import runs back up when it closes a cycle: importer and imported sit in one cyclic component.
    cyclic = {u for c in unit_cycles for u in c}
    back_up = [(u, d) for u, deps in ugraph.items() for d in deps if u in cyclic and comp_of[u] == comp_of[d]]
    entries = sorted(p.name for p in root.iterdir() if p.name != "__pycache__" and not p.name.startswith("."))
    print(f"top-level entries in {root}: {len(entries)}")
    print(f"python modules: {len(files)}")
    print(f"layers (units): {1 + max(layer.values(), default=0)}")
    print(f"module import cycles: {len(mod_cycles)}")
    for c in mod_cycles:
        print("   ", " <-> ".join(c))
    print(f"unit (package) import cycles: {len(unit_cycles)}")
    for c in unit_cycles:
        print("   ", " <-> ".join(c))
    print(f"imports that run back up a layer: {len(back_up)}")
    for u, d in sorted(back_up):
        print(f"    {u} -> {d}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "src/seqprep"))
