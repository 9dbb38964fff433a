"""Compare every function and class of seqprep between a git revision and the working tree.

Usage: ``python tools/ast_diff.py REV [OLD=NEW ...]``. Definitions are matched by name (top-level
functions and classes, and methods as ``Class.method``), wherever the module they live in moved.
Docstrings and import statements are ignored (a move changes every relative import), and each
``OLD=NEW`` renames a name in REV's code before comparing. Prints how many are identical, changed,
only in REV (removed) and only now (added), and lists the changed, removed and added names.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path


class _Rename(ast.NodeTransformer):
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        node.attr = self.names.get(node.attr, node.attr)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)
        node.name = self.names.get(node.name, node.name)
        return node


def _strip_docstrings(node: ast.AST) -> ast.AST:
    for n in ast.walk(node):
        body = getattr(n, "body", None)
        if isinstance(body, list):
            n.body = [b for b in body if not isinstance(b, (ast.Import, ast.ImportFrom))] or [ast.Pass()]
        body = getattr(n, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            n.body = body[1:] or [ast.Pass()]
    return node


def _defs(files: dict[str, str], renames: dict[str, str] | None = None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for text in files.values():
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        if renames:
            tree = _Rename(renames).visit(tree)
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out[node.name].append(ast.dump(_strip_docstrings(node)))
                if isinstance(node, ast.ClassDef):
                    for sub in node.body:
                        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            out[f"{node.name}.{sub.name}"].append(ast.dump(_strip_docstrings(sub)))
    return out


def main(rev: str, renames: dict[str, str]) -> None:
    listing = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev, "src/seqprep"],
                             capture_output=True, text=True, check=True).stdout.split()
    old = {p: subprocess.run(["git", "show", f"{rev}:{p}"], capture_output=True, text=True, check=True).stdout
           for p in listing if p.endswith(".py")}
    new = {str(p): p.read_text(encoding="utf-8") for p in Path("src/seqprep").rglob("*.py")}
    a, b = _defs(old, renames), _defs(new)
    same = [k for k in a if k in b and sorted(a[k]) == sorted(b[k])]
    changed = sorted(k for k in a if k in b and sorted(a[k]) != sorted(b[k]))
    removed = sorted(k for k in a if k not in b)
    added = sorted(k for k in b if k not in a)
    print(f"definitions in {rev}: {len(a)}; identical now: {len(same)}; changed: {len(changed)}; "
          f"removed or renamed: {len(removed)}; added: {len(added)}")
    for title, names in (("changed", changed), ("removed or renamed", removed), ("added", added)):
        if names:
            print(f"{title}: {', '.join(names)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "HEAD", dict(a.split("=", 1) for a in sys.argv[2:]))
