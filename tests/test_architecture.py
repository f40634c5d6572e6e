"""The dependency rule, read from the source: `bot -> flows -> storage`, and `flows/engine` and
the operators' workbench (`flows/workbench`: scenarios, diffs, drawings) pure.

Inside the engine, sub-packages are layers: `format` (the flow model) at the bottom, then
`safety` and `records`, `conversation`, `validation`, `loading` and `translation`; each imports
only below it.

Every module's imports are parsed with `ast` (including imports inside functions and
`TYPE_CHECKING` blocks), so a forbidden import anywhere in a module fails the test.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# package folder -> top-level modules it must never import
RULES = {
    "flows/engine": {"telegram", "sqlmodel", "sqlalchemy", "alembic", "storage", "bot"},
    "flows/workbench": {"telegram", "sqlmodel", "sqlalchemy", "alembic", "storage", "bot"},
    "flows": {"bot", "telegram"},
    "storage": {"flows", "bot", "telegram"},
}


# engine sub-package -> the other engine sub-packages it may import (the layers inside the engine)
ENGINE_LAYERS = {
    "format": set(),
    "safety": {"format"},
    "records": {"format"},
    "conversation": {"format", "safety"},
    "validation": {"format", "safety", "conversation"},
    "loading": {"format", "validation"},
    "translation": {"format", "validation", "loading"},
}


def imported_modules(path: Path) -> set[str]:
    """The full names of every module `path` imports (relative imports resolved)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    return imports_of(path.read_text(), package)


def imports_of(source: str, package: str) -> set[str]:
    """The full names of every module `source`, a module of `package`, imports."""
    tree = ast.parse(source)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.add(".".join([*base, node.module] if node.module else base))
            elif node.module:
                names.add(node.module)
    return names


def modules_under(folder: str) -> list[Path]:
    """Every Python file of a package folder."""
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize(("folder", "forbidden"), RULES.items())
def test_packages_import_only_downwards(folder: str, forbidden: set[str]) -> None:
    """No module of the folder imports a forbidden package."""
    files = modules_under(folder)
    assert files, f"no modules found under {folder}"
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in sorted(imported_modules(path))
        if name.split(".")[0] in forbidden
    ]
    assert offences == []


def test_the_engine_is_grouped_into_its_sub_packages() -> None:
    """Every engine module sits in a sub-package named in ENGINE_LAYERS (no flat peers)."""
    engine = ROOT / "flows" / "engine"
    loose = [p.name for p in engine.glob("*.py") if p.name != "__init__.py"]
    packages = {p.name for p in engine.iterdir() if (p / "__init__.py").exists()}
    assert loose == []
    assert packages == set(ENGINE_LAYERS)


@pytest.mark.parametrize(("layer", "allowed"), ENGINE_LAYERS.items())
def test_engine_sub_packages_import_only_lower_layers(layer: str, allowed: set[str]) -> None:
    """An engine sub-package imports only itself and the sub-packages below it."""
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules_under(f"flows/engine/{layer}")
        for name in sorted(imported_modules(path))
        if name.startswith("flows.engine.") and name.split(".")[2] not in {layer, *allowed}
    ]
    assert offences == []


def test_only_bot_imports_telegram() -> None:
    """The Telegram library is imported under bot/ only (not flows/ nor storage/)."""
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("flows", "storage")
        for path in modules_under(folder)
        if any(name.split(".")[0] == "telegram" for name in imported_modules(path))
    ]
    assert offenders == []


def test_the_reader_sees_every_kind_of_import() -> None:
    """The import reader finds plain, from, relative, nested and TYPE_CHECKING imports."""
    source = (
        "import sqlalchemy.orm\n"
        "from typing import TYPE_CHECKING\n"
        "from . import model\n"
        "from ..intake import IntakeService\n"
        "if TYPE_CHECKING:\n"
        "    from storage.tables import Answer\n"
        "def late():\n"
        "    import telegram\n"
    )
    found = imports_of(source, "flows.engine")
    assert {
        "sqlalchemy.orm",
        "flows.engine",
        "flows.intake",
        "storage.tables",
        "telegram",
    } <= found
