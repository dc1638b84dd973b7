"""The import graph of chatstream_cli, drawn from its source: no circles, and imports only point down the layers.

Every import counts: module-level, inside functions (lazy) and under ``if TYPE_CHECKING``. The layers
are read from the package docstring, so that the list people read is the list that is checked.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

import chatstream_cli

PACKAGE = Path(chatstream_cli.__file__).resolve().parent
ROOT = "chatstream_cli"
Graph = Mapping[str, set[str]]


def modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package by dotted name, with its file and whether it is a package."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = [ROOT, *path.relative_to(PACKAGE).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def imported_names(node: ast.Import | ast.ImportFrom, package: list[str]) -> list[str]:
    """The dotted names an import statement may load: the module and, for ``from``, module.name."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = package[: len(package) - node.level + 1] if node.level else []
    module = ".".join([*base, *([node.module] if node.module else [])])
    return [module, *(f"{module}.{alias.name}" for alias in node.names)]


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports, plus the packages those live in (importing a.b runs a)."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in known.items():
        package = name.split(".") if is_package else name.split(".")[:-1]
        own_packages = {".".join(package[:i]) for i in range(1, len(package) + 1)}
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for target in imported_names(node, package):
                    parts = target.split(".")
                    # Importing a.b.c runs a and a.b first, except the packages this module is inside (loaded already).
                    loaded = {target} | ({".".join(parts[:i]) for i in range(1, len(parts))} - own_packages)
                    edges |= {module for module in loaded if module in known and module != name}
        graph[name] = edges
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


LAYER_LINE = re.compile(r"^    (?P<names>[\w, ]+?)\s+--\s")


def layers() -> list[set[str]]:
    """The layers of the package docstring, top first: sets of top-level module or package names."""
    found, pending = [], ""
    for line in (chatstream_cli.__doc__ or "").splitlines():
        if re.fullmatch(r"    [\w, ]+,", line):  # a long layer goes on over the next line
            pending += line.strip() + " "
            continue
        line, pending = "    " + pending + line.strip() if pending else line, ""
        match = LAYER_LINE.match(line)
        if match:
            found.append({name.strip() for name in match["names"].split(",")})
    return found


def component(module: str) -> str:
    """The layer-holding part of a module name: chatstream_cli.render.live -> render; the package itself -> its name."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def layer_violations(graph: Graph, ranks: Mapping[str, int]) -> list[str]:
    problems = []
    for module, targets in sorted(graph.items()):
        for target in sorted(targets):
            source, sink = component(module), component(target)
            if ranks[sink] < ranks[source]:
                problems.append(f"{module} imports {target}, a layer above it")
            elif sink == "cli" and source != "__main__":
                problems.append(f"{module} imports {target}: nothing but __main__ imports cli")
    return problems


def rank_table(names: Iterable[set[str]]) -> dict[str, int]:
    return {name: rank for rank, layer in enumerate(names) for name in layer}


# --- the checks ---------------------------------------------------------------------------------------------


def test_the_graph_has_no_circles() -> None:
    assert cycles(import_graph()) == []


def test_every_module_sits_in_a_layer_of_the_docstring() -> None:
    ranks = rank_table(layers())
    unplaced = sorted({component(module) for module in modules()} - set(ranks))
    assert unplaced == [], "add these to a layer in chatstream_cli/__init__.py's docstring"


def test_imports_point_down_the_layers() -> None:
    assert layer_violations(import_graph(), rank_table(layers())) == []


def test_the_layers_keep_the_house_rules() -> None:
    """cli -> commands -> (providers, render, history, batch, prompting) -> settings -> core, as the guide says."""
    ranks = rank_table(layers())
    core = ["messages", "runnable", "events", "errors", "retry", "sse", "runs"]
    assert ranks["cli"] < ranks["commands"]
    features = ["providers", "render", "history", "prompting", "batch"]
    assert {ranks[name] for name in features} == {ranks["commands"] + 1}
    assert min(ranks["config"], ranks["keys"]) > ranks["providers"]
    assert min(ranks[name] for name in core) > max(ranks["config"], ranks["keys"])


def test_each_wire_family_stands_alone() -> None:
    """providers/ is the registry and one package per wire family: a family imports no other family,
    and the registry imports none at all (it names their classes as strings, loaded on first use)."""
    families = {"anthropic", "openai", "gemini"} & {
        path.name for path in (PACKAGE / "providers").iterdir() if (path / "__init__.py").exists()
    }
    assert {"anthropic", "openai"} <= families
    graph = import_graph()
    crossing = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        for family in families
        if module.startswith(f"{ROOT}.providers.{family}")
        for target in targets
        if any(target.startswith(f"{ROOT}.providers.{other}") for other in families - {family})
    ]
    assert crossing == []
    assert not {t for t in graph[f"{ROOT}.providers"] if t.startswith(f"{ROOT}.providers.")}


# --- the checks can fail --------------------------------------------------------------------------------------


def test_a_module_importing_its_own_package_is_an_edge() -> None:
    """``from . import PROVIDERS`` in providers/openai/chat.py needs the registry: if it imported openai, a circle."""
    assert "chatstream_cli.providers" in import_graph()["chatstream_cli.providers.openai.chat"]
    assert "chatstream_cli.render" not in import_graph()["chatstream_cli.render.plain"]  # only what it imports


def test_a_lazy_import_back_is_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    ("source", "statement", "target"),
    [
        ("chatstream_cli/config.py", "def f():\n    from .providers import PROVIDERS\n", "chatstream_cli.providers"),
        ("chatstream_cli/keys.py", "if TYPE_CHECKING:\n    from .providers import X\n", "chatstream_cli.providers"),
        ("chatstream_cli/commands/replay.py", "from ..cli import app\n", "chatstream_cli.cli"),
        (
            "chatstream_cli/render/live.py",
            "from chatstream_cli.render.choose import x\n",
            "chatstream_cli.render.choose",
        ),
    ],
)
def test_every_kind_of_import_is_seen(source: str, statement: str, target: str) -> None:
    name = source.removesuffix(".py").replace("/", ".")
    package = name.split(".")[:-1]
    nodes = [node for node in ast.walk(ast.parse(statement)) if isinstance(node, ast.Import | ast.ImportFrom)]
    assert target in imported_names(nodes[0], package)


def test_a_violation_is_reported() -> None:
    ranks = rank_table(layers())
    graph = {
        "chatstream_cli.config": {"chatstream_cli.providers"},
        "chatstream_cli.commands.replay": {"chatstream_cli.cli"},
        "chatstream_cli.events": {"chatstream_cli.runnable"},
    }
    assert layer_violations(graph, ranks) == [
        "chatstream_cli.commands.replay imports chatstream_cli.cli, a layer above it",
        "chatstream_cli.config imports chatstream_cli.providers, a layer above it",
    ]
