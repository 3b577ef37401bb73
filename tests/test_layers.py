"""The layer diagram of DESIGN.md, enforced: no import points up, no circle of imports.

Every .py under src/losslab is parsed with `ast`; every import of a losslab module counts, at
module level and inside functions (`import x`, `from x import y`, relative imports resolved).
An import inside a function is still a dependency: hiding it there only hides it from readers.

Layers (a module may import its own layer and the layers below, never above):

    5  cli, web                          shells: parse -> library -> render
    4  plot                              scenes and their backends
    3  landscapes, curvature, descent,   the numeric core that answers questions
       attraction, training, symmetry,
       connectivity, contrast
    2  directions, optim,                tools the core composes
       executors
    1  objectives, data, models          what is being measured
    0  errors, _version, _checks,        plain data and plumbing (budget: the cost of a call)
       params, io, results, placement

The shells: web never imports cli; cli imports web only in the two commands that start the web
lab, `losslab.cli.serve` and `losslab.cli.view` (serve with a file open).
`losslab/__init__.py` (the public facade) re-exports the core and sits at layer 3; it never
imports plot, cli or web.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "losslab"

LAYERS = {
    "losslab.errors": 0,
    "losslab._version": 0,
    "losslab._checks": 0,
    "losslab.budget": 0,
    "losslab.params": 0,
    "losslab.io": 0,
    "losslab.placement": 0,
    "losslab.results": 0,
    "losslab.objectives": 1,
    "losslab.data": 1,
    "losslab.models": 1,
    "losslab.directions": 2,
    "losslab.optim": 2,
    "losslab.executors": 2,
    "losslab.landscapes": 3,
    "losslab.curvature": 3,
    "losslab.descent": 3,
    "losslab.diagnosis": 3,
    "losslab.attraction": 3,
    "losslab.training": 3,
    "losslab.symmetry": 3,
    "losslab.connectivity": 3,
    "losslab.contrast": 3,
    "losslab": 3,  # the facade: re-exports the core, never plot or the shells
    "losslab.plot": 4,
    "losslab.cli": 5,
    "losslab.web": 5,
}

# Up-arrows that other branches of issue 10 remove; the lead deletes this list at merge.
# Each entry: (importing module, imported module). Today's only one: results.py's `load_result`
# imports `Landscape` (inside a function) to read landscape files, which closes the circle
# results -> landscapes.result -> grid -> results.
ALLOWED_UP: set[tuple[str, str]] = set()  # none: every import points down or sideways

# Shell rules beyond the layer numbers: (importer prefix, imported prefix) pairs that are
# forbidden, with the one exception each allows.
SHELL_RULES = [
    ("losslab.web", "losslab.cli", set()),
    ("losslab.cli", "losslab.web", {"losslab.cli.serve", "losslab.cli.view"}),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a `from ... import` names (relative levels resolved)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every losslab module `path` imports, anywhere in the file."""
    module, package = _module_name(path), _is_package(path)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, package, node)
            # `from losslab import curvature` imports the submodule when one exists.
            names = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
            names.append(target)
        else:
            continue
        found.update(n for n in names if n == "losslab" or n.startswith("losslab."))
    found.discard(module)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: imports_of(path, known) for name, path in modules.items()}


def layer_of(module: str) -> tuple[str, int]:
    """The longest prefix of `module` in LAYERS, and its layer."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in LAYERS:
            return prefix, LAYERS[prefix]
    raise KeyError(f"{module} has no layer: add it to LAYERS in tests/test_layers.py")


def _ancestors(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts))}


def up_edges(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for source, targets in sorted(graph.items()):
        _, low = layer_of(source)
        for target in sorted(targets):
            if target in _ancestors(source):
                continue  # importing a package runs its __init__; not a dependency arrow
            _, high = layer_of(target)
            if high > low and (source, target) not in ALLOWED_UP:
                bad.append(f"{source} -> {target} (layer {low} -> {high})")
    return bad


def shell_edges(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for source, targets in sorted(graph.items()):
        for importer, imported, exceptions in SHELL_RULES:
            if not source.startswith(importer) or source in exceptions:
                continue
            bad += [f"{source} -> {t}" for t in sorted(targets) if t.startswith(imported)]
    return bad


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of imports among modules.

    Dropped: edges to a module's own ancestors (importing `a.b.c` runs `a/b/__init__`, which is
    packaging, not a dependency) and the allowlisted up-arrows (each closes a known circle that
    its branch removes).
    """
    edges = {
        m: {
            t for t in targets if t in graph and t not in _ancestors(m) and (m, t) not in ALLOWED_UP
        }
        for m, targets in graph.items()
    }
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_every_module_has_a_layer():
    for module in _modules():
        layer_of(module)  # raises with the module's name


def test_no_import_points_up_the_layer_diagram():
    bad = up_edges(_graph())
    assert not bad, "imports that point up the layers:\n  " + "\n  ".join(bad)


def test_allowlisted_up_edges_still_exist():
    # An allowlisted edge that is gone must leave the list, so the list stays honest.
    graph = _graph()
    stale = [f"{s} -> {t}" for s, t in sorted(ALLOWED_UP) if t not in graph.get(s, set())]
    assert not stale, "remove from ALLOWED_UP, no longer imported:\n  " + "\n  ".join(stale)


def test_web_and_cli_keep_to_their_shells():
    bad = shell_edges(_graph())
    assert not bad, "shell imports across web and cli:\n  " + "\n  ".join(bad)


def test_no_circle_of_imports():
    cycle = find_cycle(_graph())
    assert cycle is None, "circle of imports: " + " -> ".join(cycle)


# The checker itself, on made-up graphs, so a broken parser cannot pass by finding nothing.


def test_the_parser_sees_imports_inside_functions_and_relative_ones(tmp_path, monkeypatch):
    package = tmp_path / "losslab"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from . import leaf\n")
    (package / "sub" / "leaf.py").write_text(
        "import losslab.errors\n"
        "def f():\n"
        "    from losslab.plot import static\n"
        "    from ..results import load_result\n"
        "    from .. import cli\n"
    )
    monkeypatch.setitem(globals(), "SRC", tmp_path)
    known = {"losslab", "losslab.sub", "losslab.sub.leaf", "losslab.cli", "losslab.results"}
    leaf = imports_of(package / "sub" / "leaf.py", known)
    assert leaf == {
        "losslab",
        "losslab.errors",
        "losslab.plot",
        "losslab.results",
        "losslab.cli",
    }
    assert imports_of(package / "sub" / "__init__.py", known) == {"losslab.sub.leaf"}


def test_the_checker_reports_up_edges_shell_edges_and_circles():
    graph = {
        "losslab.results": {"losslab.landscapes"},  # 0 -> 3: up
        "losslab.landscapes": {"losslab.results", "losslab.objectives"},
        "losslab.objectives": set(),
        "losslab.web.app": {"losslab.cli.defaults"},  # shell rule
        "losslab.cli.serve": {"losslab.web.app"},  # the one exception
        "losslab.cli.app": {"losslab.web.app"},
    }
    assert up_edges(graph) == ["losslab.results -> losslab.landscapes (layer 0 -> 3)"]
    assert shell_edges(graph) == [
        "losslab.cli.app -> losslab.web.app",
        "losslab.web.app -> losslab.cli.defaults",
    ]
    assert find_cycle(graph) == ["losslab.landscapes", "losslab.results", "losslab.landscapes"]
    assert find_cycle({"losslab.a": {"losslab"}, "losslab": {"losslab.a"}}) is None


@pytest.mark.parametrize("module", ["losslab.cli.serve", "losslab.web.figures"])
def test_shell_modules_sit_on_top(module):
    assert layer_of(module)[1] == 5
