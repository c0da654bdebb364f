"""Imports point one way: down the layers of DESIGN §2, never back up.

Each module of the package belongs to one layer; it may import from its own
layer and the layers before it, never from a later one (annotations-only
imports count too: they are a dependency all the same). The lifecycle
engine is placed with the domain's building blocks: the domain's records
hold lifecycle positions, and the engine itself imports no record.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "custservice"

LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "building blocks",
        (
            "errors",
            "enums",
            "_time",
            "_validation",
            "_ids",
            "_records",
            "_mapping",
            "_persistent",
            "_desk",
            "_states",
            "_history",
            "lifecycle",
            "lifecycles",
            "pipelines",
        ),
    ),
    (
        "domain",
        (
            "expectations",
            "feedback",
            "calendars",
            "customers",
            "interactions",
            "cases",
            "service_levels",
        ),
    ),
    ("policies", ("policies",)),
    ("serialization", ("serialization",)),
    ("storage protocols", ("storage.protocols", "storage.registry")),
    # The package's facade re-exports the SQL backends' migrate() and metadata().
    ("backends", ("storage", "storage.")),
    ("analytics and planning", ("analytics",)),
    ("edges", ("", "cli", "export", "report", "simulation", "testing", "__main__")),
]
"""Layers in order; a module belongs to the first entry naming it or a package above it
(``"storage."`` names every module inside ``storage``; ``""`` the package itself)."""


def layer_of(module: str) -> int:
    """The index in :data:`LAYERS` of a module named relative to the package."""
    best: tuple[int, int] | None = None  # (length of the match, layer)
    for index, (_, names) in enumerate(LAYERS):
        for name in names:
            if name.endswith("."):
                matches = module.startswith(name)
            else:
                matches = module == name or (name != "" and module.startswith(name + "."))
            if matches and (best is None or len(name) > best[0]):
                best = (len(name), index)
    if best is None:
        raise AssertionError(f"custservice.{module} is in no layer: add it to LAYERS")
    return best[1]


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found.append((".".join(parts), path))
    return found


def imported(module: str, path: Path) -> set[str]:
    """The package's modules that ``module`` imports (relative or absolute)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    if module == "":
        package = []
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.split(".")[0] == "custservice":
                target = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:
                candidate = [*target, alias.name]
                if (PACKAGE.joinpath(*candidate).with_suffix(".py")).exists() or (
                    PACKAGE.joinpath(*candidate) / "__init__.py"
                ).exists():
                    names.add(".".join(candidate))
                else:
                    names.add(".".join(target))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "custservice":
                    names.add(".".join(alias.name.split(".")[1:]))
    return names


@pytest.mark.parametrize(("module", "path"), modules(), ids=lambda v: str(v) or "custservice")
def test_a_module_imports_only_from_its_own_layer_or_earlier_ones(module: str, path: Path) -> None:
    own = layer_of(module)
    later = sorted(
        f"custservice.{name} ({LAYERS[layer_of(name)][0]})"
        for name in imported(module, path)
        if layer_of(name) > own
    )
    assert not later, f"custservice.{module} ({LAYERS[own][0]}) imports from later layers: " + (
        ", ".join(later)
    )


def test_the_layer_map_sees_a_violation() -> None:
    """The check itself: storage importing analytics is refused, the reverse allowed."""
    assert layer_of("storage.sql.store") < layer_of("analytics.scorecard")
    assert layer_of("cases") < layer_of("storage.protocols") < layer_of("storage.memory")
    assert layer_of("testing.strategies") == len(LAYERS) - 1
