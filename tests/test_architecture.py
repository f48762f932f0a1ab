"""The layering of docs/architecture.md, checked: each package imports only from lower floors, and no two modules
depend on each other, directly or round a longer circle. Imports are read from the source (ast).

What counts as "A imports B" for circles: every import statement naming B anywhere in A: at module level, inside
functions (deferred imports still tie the two modules together: neither can be understood, moved or tested without
the other; deferring only hides the circle from Python's import machinery), and under ``if TYPE_CHECKING:`` (a
type checker follows those, and a type one module needs from another is a dependency too). The one thing left out
is a module and its own package's ``__init__`` (``reasonir.models.encoder`` and ``reasonir.models``): Python runs a
package's ``__init__`` before any of its modules, so that tie is how packages work, not a circle. For the floors,
``if TYPE_CHECKING:`` imports are left out: an annotation may name a higher floor's type without running its code."""
from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "reasonir"
FLOORS = {
    "paths": 0, "hardware": 0, "optional": 0, "logs": 0,
    "data": 1,
    "models": 2, "llm": 2,
    "retrieve": 3,
    "synth": 4, "label": 4, "evaluate": 4, "scale": 4,
    "train": 5, "rag": 5,
    "serve": 6, "adapt": 6, "doctor": 6, "testing": 6,
    "demo": 7,
    "cli": 8,
}
# upward imports still in the code, each with why; remove an entry when its import goes
KNOWN: dict[tuple[str, str], str] = {}


def modules(src: Path = SRC) -> dict[str, Path]:
    out = {}
    for path in src.rglob("*.py"):
        parts = path.relative_to(src.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(name: str, path: Path, *, module_level_only: bool, typing_too: bool = False) -> set[str]:
    """The reasonir modules ``name`` imports (``if TYPE_CHECKING:`` blocks only when ``typing_too``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test) and not typing_too:
                continue
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import) and (top or not module_level_only):
                found.update(a.name for a in child.names if a.name.startswith("reasonir"))
            elif isinstance(child, ast.ImportFrom) and (top or not module_level_only):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                if base.startswith("reasonir"):
                    found.update([base, *(f"{base}.{a.name}" for a in child.names)])
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), True)
    return found


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_package_imports_only_from_lower_floors():
    known = modules()
    assert set(FLOORS) >= {package_of(m) for m in known if package_of(m)}, "a new package needs its floor here"
    upward = set()
    for name, path in known.items():
        for target in imports(name, path, module_level_only=False):
            a, b = package_of(name), package_of(target)
            if a and b and a != b and FLOORS[b] >= FLOORS[a] and (a, b) not in KNOWN:
                upward.add(f"{name} imports {target} ({a} is on floor {FLOORS[a]}, {b} on {FLOORS[b]})")
    assert not upward, sorted(upward)


def dependency_graph(src: Path = SRC) -> dict[str, set[str]]:
    """Module -> the modules it imports, every import counted (see the module doc), ties to its own packages
    left out."""
    known = modules(src)
    return {name: {t for t in imports(name, path, module_level_only=False, typing_too=True)
                   if t in known and t != name and not t.startswith(name + ".") and not name.startswith(t + ".")}
            for name, path in known.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of ``graph`` with more than one module (Tarjan's algorithm), each sorted: every
    module in one of them reaches every other one and is reached back."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while (top := stack.pop()) != node:
                part.append(top)
            if part:
                found.append(sorted([node, *part]))

    for start in sorted(graph):
        if start not in index:
            visit(start)
    return found


def test_no_two_modules_depend_on_each_other():
    found = circles(dependency_graph())
    assert not found, ["  <->  ".join(part) for part in found]


def test_the_circle_check_sees_deferred_and_type_only_imports(tmp_path):
    """The two circles this check was written for, rebuilt in a scratch tree: one closed by an import inside a
    function (models/auto.py loading with models/encoder.py's ``_load``), one by an import under ``TYPE_CHECKING``
    (retrieve/store.py naming retrieve/base.py's ``Retriever`` while base imported ``lookup_documents``)."""
    src = tmp_path / "reasonir"
    files = {
        "__init__.py": "",
        "models/__init__.py": "from reasonir.models.encoder import load_encoder\n",
        "models/encoder.py": "def load_encoder():\n    from reasonir.models.auto import resolve_backend\n",
        "models/auto.py": "def probe():\n    from reasonir.models.encoder import _load\n",
        "retrieve/__init__.py": "",
        "retrieve/base.py": "from reasonir.retrieve.store import lookup_documents\n",
        "retrieve/store.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                              "    from reasonir.retrieve.base import Retriever\n"),
        "retrieve/dense.py": "from reasonir.retrieve import base, store\n",  # one way: no circle
    }
    for name, text in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text, encoding="utf-8")
    assert sorted(circles(dependency_graph(src))) == [["reasonir.models.auto", "reasonir.models.encoder"],
                                               ["reasonir.retrieve.base", "reasonir.retrieve.store"]]
