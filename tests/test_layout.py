"""The layout stays as CONTRIBUTING.md says: its "where is" table names files that exist, modules
stay small, the Library facade only forwards, the import graph has no cycle, importing the app
loads no torch, and the links between the docs resolve."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "faceorganizer"
DOCS = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
MAX_LINES = 400
MAX_PUBLIC_METHODS = 25
FACADE = PACKAGE / "services" / "library" / "facade.py"


def _section(text: str, title: str) -> str:
    start = text.index(title)
    end = text.find("\n## ", start)
    return text[start : end if end >= 0 else len(text)]


def test_where_is_table_names_paths_that_exist() -> None:
    table = _section((REPO / "CONTRIBUTING.md").read_text(encoding="utf-8"), "### Where is")
    paths = re.findall(r"`(faceorganizer/[^`]+?)`", table)
    assert len(paths) > 30
    missing = [p for p in paths if not (REPO / p).exists()]
    assert not missing, missing


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_over_400_lines() -> None:
    long = {
        str(p.relative_to(REPO)): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long


def _public_methods(node: ast.ClassDef) -> list[ast.FunctionDef]:
    return [
        b
        for b in node.body
        if isinstance(b, ast.FunctionDef | ast.AsyncFunctionDef) and not b.name.startswith("_")
    ]


def test_no_class_over_25_public_methods_but_the_facade() -> None:
    big = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and len(_public_methods(node)) > MAX_PUBLIC_METHODS:
                big.append(f"{path.relative_to(REPO)}:{node.name}")
    assert big == ["faceorganizer/services/library/facade.py:Library"]


def test_the_library_facade_only_forwards() -> None:
    """Each public method of ``Library`` is one statement (after its docstring), except its
    own lifecycle: ``open`` (a classmethod) and ``close``."""
    tree = ast.parse(FACADE.read_text(encoding="utf-8"))
    (library,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Library"]
    longer = []
    for method in _public_methods(library):
        body = method.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        if len(body) != 1 and method.name not in ("open", "close"):
            longer.append(method.name)
    assert not longer, longer
    assert len(_public_methods(library)) > 40


def test_no_import_cycle() -> None:
    graph = grimp.build_graph("faceorganizer")
    modules = sorted(m for m in graph.modules if m.startswith("faceorganizer"))
    cycles = []
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("faceorganizer") and imported != module:
                chain = graph.find_shortest_chain(importer=imported, imported=module)
                if chain is not None:
                    cycles.append(" -> ".join((module, *chain)))
    assert not cycles, cycles[:5]


def test_importing_the_app_loads_no_torch(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import faceorganizer.cli, faceorganizer.services.library, faceorganizer.ui.mainwindow\n"
        "print(sorted(m for m in ('torch', 'torchvision', 'facenet_pytorch') if m in sys.modules))"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


LINK = re.compile(r"\]\(([^)\s]+)\)")


def _anchors(path: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_between_the_docs_resolve(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.exists() or (anchor and anchor not in _anchors(path)):
            broken.append(target)
    assert not broken, broken
