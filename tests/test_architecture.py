"""The layering of docs/architecture.md, checked: each package imports only from lower floors, and no import at
module level runs in a circle. Imports are read from the source (ast), including those inside functions."""
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


def modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(name: str, path: Path, *, module_level_only: bool) -> set[str]:
    """The reasonir modules ``name`` imports (outside ``if TYPE_CHECKING:``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
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


def test_no_circle_among_module_level_imports():
    known = modules()
    graph = {name: {t for t in imports(name, path, module_level_only=True) if t in known and t != name
                    and not t.startswith(name + ".")}  # a package's __init__ importing its own modules is no circle
             for name, path in known.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def walk(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path + [node, nxt]
            if nxt not in state and (circle := walk(nxt, path + [node])):
                return circle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            circle = walk(start, [])
            assert circle is None, " -> ".join(circle)
