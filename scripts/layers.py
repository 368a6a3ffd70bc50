"""The floors of the package and the one rule between them: a lower floor never imports a higher one.

Reads every module's imports (also those inside functions, which the package uses to load
heavy libraries late) with `ast`; nothing is imported or run. Prints each floor with its
rooms and lines, then every import that runs back up; exits 1 when there is one.

    python -m scripts.layers
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "extractor"

FLOORS: dict[str, int] = {
    "core": 1,  # one document in, one validated and grounded answer out
    "store": 2, "export": 2, "client": 2,  # the service's database; the sanctions data world; the service's client
    "batch": 3,  # many documents: the engines, result files
    "monitor": 3,  # watched sources: polling, events across sources, watchlists, alerts
    "eval": 4,  # gold sets, scoring, comparisons, reports
    "service": 5,  # the FastAPI app over the store
    "cli": 6, "testing": 6,  # the command line; stand-ins for tests and benchmarks
    "__init__": 7, "__main__": 7,  # the package's face and `python -m extractor`
}
"""Each room (a folder or top-level module of `extractor/`) and its floor; a new room gets a line here."""


def room(module: str) -> str:
    """The room of a dotted module name inside the package (`extractor.core.calls.sdk` → `core`)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1] if len(parts) > 2 else [*parts[:-1], "__init__"]
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path) -> set[str]:
    """The package modules `path` imports (absolute and relative, at any depth of the file)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    package = package.removesuffix(".__init__")
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("extractor"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("extractor"):
                found.add(target)
    return found


def violations() -> list[str]:
    """Every import from a lower floor to a higher one, as `module -> module (floor a -> floor b)`."""
    found = []
    for name, path in modules().items():
        here = FLOORS.get(room(name))
        if here is None:
            found.append(f"{name}: room {room(name)!r} has no floor in scripts/layers.py FLOORS")
            continue
        for target in sorted(imports(name, path)):
            there = FLOORS.get(room(target), 0)
            if there > here:
                found.append(f"{name} -> {target} (floor {here} -> {there})")
    return found


def main() -> None:
    rooms: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for name, path in modules().items():
        rooms[FLOORS.get(room(name), 0)][room(name)] += len(path.read_text(encoding="utf-8").splitlines())
    for floor in sorted(rooms, reverse=True):
        listed = ", ".join(f"{name} ({lines} lines)" for name, lines in sorted(rooms[floor].items()))
        print(f"floor {floor}: {listed}")
    wrong = violations()
    for line in wrong:
        print(f"runs back up: {line}")
    print(f"{len(wrong)} import(s) running back up")
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
