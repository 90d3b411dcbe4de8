"""The architecture as a test: who may import whom, read from the source (AST), nothing imported.

DESIGN §2: dependencies point inward. The core (``operative``) imports no Prefect, ``flows`` or
``tasks``, at any depth, so it runs and is tested without an orchestrator; the command-line
modules form no import cycle; ``flows/`` holds only what ``deploy/prefect.yaml`` deploys. Each
check is also run on a small planted tree that breaks its rule, so a check that flags nothing
cannot pass for one that holds.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from operative.core.settings import REPO_ROOT

FORBIDDEN_IN_CORE = ("prefect", "flows", "tasks")
DYNAMIC_IMPORTS = {"import_module", "__import__"}


def module_name(root: Path, path: Path) -> str:
    """The dotted name of the module at ``path`` under the import root ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(root: Path, name: str, target: str | None, level: int, node_module: str) -> str:
    """The absolute module a ``from`` import names (relative levels resolved)."""
    if level == 0:
        return target or ""
    is_package = (root / Path(*name.split("."))).is_dir()
    base = name.split(".") if is_package else name.split(".")[:-1]
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join([*base, *([node_module] if node_module else [])])


def imported_modules(root: Path, path: Path) -> Iterator[tuple[int, str]]:
    """Every module ``path`` imports, with its line: at the top, inside functions, under
    ``TYPE_CHECKING``, and through ``importlib.import_module`` / ``__import__`` with a literal.

    ``from package import name`` yields ``package.name`` when that is a module of ``root``,
    else ``package``.
    """
    name = module_name(root, path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(root, name, node.module, node.level, node.module or "")
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                as_path = root / Path(*candidate.split("."))
                is_module = as_path.with_suffix(".py").is_file() or as_path.is_dir()
                yield node.lineno, candidate if is_module else base
        elif isinstance(node, ast.Call) and _dynamic_import(node):
            yield node.lineno, node.args[0].value  # type: ignore[attr-defined]


def _dynamic_import(node: ast.Call) -> bool:
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return (
        called in DYNAMIC_IMPORTS
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def _modules(root: Path, package: str) -> list[Path]:
    return sorted(root.joinpath(*package.split(".")).rglob("*.py"))


def core_offences(root: Path, package: str = "operative") -> list[str]:
    """``file:line imports module`` for each import of Prefect, flows or tasks in the core."""
    found = []
    for path in _modules(root, package):
        for line, module in imported_modules(root, path):
            if module.split(".")[0] in FORBIDDEN_IN_CORE:
                found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Each module of ``package`` and the modules of ``package`` it imports (itself left out)."""
    graph: dict[str, set[str]] = {}
    for path in _modules(root, package):
        name = module_name(root, path)
        graph[name] = {
            module
            for _line, module in imported_modules(root, path)
            if (module == package or module.startswith(f"{package}.")) and module != name
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of ``graph``, each as the path that closes it (depth-first)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            found.append([*path[path.index(node) :], node])
            return
        if node in done or node not in graph:
            return
        for target in sorted(graph[node]):
            visit(target, [*path, node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return found


def root_imports(root: Path, package: str) -> list[str]:
    """Modules of ``package`` that import the package root (its ``__init__``) back."""
    return sorted(
        name
        for name, targets in import_graph(root, package).items()
        if name != package and package in targets
    )


def undeployed_flows(root: Path) -> list[str]:
    """Top-level modules of ``flows/`` (``__init__`` and ``_prefect/`` aside) that no
    entrypoint of ``deploy/prefect.yaml`` names."""
    document = yaml.safe_load((root / "deploy" / "prefect.yaml").read_text(encoding="utf-8"))
    entrypoints = {
        str(deployment["entrypoint"]).partition(":")[0]
        for deployment in document.get("deployments") or []
    }
    return sorted(
        path.relative_to(root).as_posix()
        for path in (root / "flows").glob("*.py")
        if path.name != "__init__.py" and path.relative_to(root).as_posix() not in entrypoints
    )


# --- the rules, on this repository -----------------------------------------------------------


def test_the_core_imports_no_prefect_flows_or_tasks() -> None:
    """The core must run, and be tested, without an orchestrator: it reaches one only through
    operative.orchestration's entry point."""
    assert core_offences(REPO_ROOT) == []


def test_the_cli_modules_form_no_import_cycle() -> None:
    """A command module that imports another's helpers back is the circle `noqa: E402` hid."""
    assert cycles(import_graph(REPO_ROOT, "operative.cli")) == []


def test_no_cli_module_imports_the_package_root() -> None:
    """The root builds the app from every module: a module importing it closes a circle."""
    assert root_imports(REPO_ROOT, "operative.cli") == []


def test_the_core_forms_no_import_cycle() -> None:
    """A cycle in the core is two modules that cannot be understood, or changed, apart."""
    assert cycles(import_graph(REPO_ROOT, "operative")) == []


def test_every_top_level_flow_module_is_deployed() -> None:
    """flows/ holds only deployment entrypoints; plumbing goes in flows/_prefect, rules in
    the core."""
    assert undeployed_flows(REPO_ROOT) == []


# --- each check catches what it is for ---------------------------------------------------------


def _plant(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("source", "offence"),
    [
        ("import prefect\n", "1 imports prefect"),
        ("from prefect.client import orchestration\n", "1 imports prefect.client"),
        ("def later():\n    from flows import load_flow\n", "2 imports flows"),
        ("import importlib\nimportlib.import_module('tasks.store')\n", "2 imports tasks.store"),
        ("if False:\n    import flows._prefect\n", "2 imports flows._prefect"),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import flows._prefect\n",
            "3 imports flows._prefect",
        ),
        ("__import__('prefect')\n", "1 imports prefect"),
    ],
)
def test_core_check_flags_each_way_of_importing(tmp_path: Path, source: str, offence: str) -> None:
    """An import hidden in a function, a TYPE_CHECKING block or importlib is an import still."""
    root = _plant(tmp_path, {"operative/__init__.py": "", "operative/web/seam.py": source})
    assert core_offences(root) == [f"operative/web/seam.py:{offence}"]


def test_core_check_passes_the_core_own_imports(tmp_path: Path) -> None:
    """A check that flags everything would hide the real offence among false ones."""
    root = _plant(
        tmp_path,
        {
            "operative/__init__.py": "",
            "operative/orchestration.py": "from importlib.metadata import entry_points\n",
            "operative/web/app.py": "from operative import orchestration\nimport fastapi\n",
        },
    )
    assert core_offences(root) == []


def test_cycle_check_flags_a_circle_through_a_relative_import(tmp_path: Path) -> None:
    """The old CLI's circle: the root imports a module at its bottom, the module imports the
    root's helpers back."""
    root = _plant(
        tmp_path,
        {
            "operative/__init__.py": "",
            "operative/cli/__init__.py": "from operative.cli import work\n",
            "operative/cli/work.py": "def run():\n    from . import helpers\n",
            "operative/cli/helpers.py": "from operative.cli.work import run\n",
        },
    )
    assert cycles(import_graph(root, "operative.cli")) == [
        ["operative.cli.work", "operative.cli.helpers", "operative.cli.work"]
    ]


def test_root_check_flags_a_module_importing_the_package_root(tmp_path: Path) -> None:
    """``from operative.cli import app`` in a command module imports the package root."""
    root = _plant(
        tmp_path,
        {
            "operative/__init__.py": "",
            "operative/cli/__init__.py": "app = None\n",
            "operative/cli/_common.py": "x = 1\n",
            "operative/cli/work.py": "from operative.cli import app\n"
            "from operative.cli import _common\n",
        },
    )
    assert root_imports(root, "operative.cli") == ["operative.cli.work"]
    assert import_graph(root, "operative.cli")["operative.cli.work"] == {
        "operative.cli",
        "operative.cli._common",
    }


def test_flows_check_flags_a_module_no_deployment_names(tmp_path: Path) -> None:
    """A flow hidden in plumbing, or plumbing in flows/, is not what the layout promises."""
    root = _plant(
        tmp_path,
        {
            "flows/__init__.py": "",
            "flows/_prefect/serve.py": "",
            "flows/forward_to_pga.py": "",
            "flows/helpers.py": "",
            "deploy/prefect.yaml": "deployments:\n"
            "  - name: forward\n    entrypoint: flows/forward_to_pga.py:forward_to_pga\n",
        },
    )
    assert undeployed_flows(root) == ["flows/helpers.py"]
