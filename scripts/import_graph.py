"""Print the import graph between notes-qa's layers: the engine, the terminal app and the command line.

Usage: python scripts/import_graph.py [CHECKOUT]

Builds the graph of every import (deferred ones inside functions and
``TYPE_CHECKING`` ones included) of the packages ``indexer``, ``tui`` and
``notes_qa_cli`` found in CHECKOUT (default: this one) with grimp, the library
under import-linter. Prints each package's modules and its direct imports of the
others. Then modules are grouped by layer: ``cli`` is ``notes_qa_cli``,
or ``indexer.cli`` in checkouts from before the command line left the engine;
``engine`` is the rest of ``indexer``; ``tui`` is ``tui``. Prints, per layer, its
modules and the imports among them; then, for each pair of layers, how many
modules of one import the other directly (each such import listed); and the
import cycles among modules (groups of modules that reach each other).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

PACKAGES = ("indexer", "tui", "notes_qa_cli")
LAYERS = ("cli", "tui", "engine")  # from the top down: a layer may import the ones after it


def layer_of(module: str) -> str:
    if module == "notes_qa_cli" or module.startswith(("notes_qa_cli.", "indexer.cli.")) or module == "indexer.cli":
        return "cli"
    if module == "tui" or module.startswith("tui."):
        return "tui"
    return "engine"


def _top(module: str) -> str:
    return module.split(".")[0]


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Groups of two or more modules that import each other, directly or through others (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def report(root: Path) -> list[str]:
    import grimp

    sys.path.insert(0, str(root))
    packages = [name for name in PACKAGES if (root / name / "__init__.py").is_file()]
    graph = grimp.build_graph(*packages, include_external_packages=False, cache_dir=None)
    edges: dict[str, set[str]] = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    modules: dict[str, list[str]] = defaultdict(list)
    for module in graph.modules:
        modules[layer_of(module)].append(module)

    out = [f"checkout: {root}", f"packages: {', '.join(packages)}"]
    total = sum(len(targets) for targets in edges.values())
    out.append(f"all: {len(graph.modules)} modules, {total} imports between them")
    out.append("by package (importer -> imported: modules importing, imports):")
    for source in packages:
        own = [m for m in graph.modules if _top(m) == source]
        inside = sum(1 for m in own for t in edges[m] if _top(t) == source)
        out.append(f"  {source}: {len(own)} modules, {inside} imports inside the package")
        for target in packages:
            if source != target:
                pairs = [(m, t) for m in graph.modules if _top(m) == source for t in edges[m] if _top(t) == target]
                importers = {m for m, _ in pairs}
                out.append(f"    {source} -> {target}: {len(importers)} modules, {len(pairs)} imports")
    out.append("by layer:")
    for layer in LAYERS:
        inside = sum(1 for m in modules[layer] for t in edges[m] if layer_of(t) == layer)
        out.append(f"  {layer}: {len(modules[layer])} modules, {inside} imports inside the layer")
    out.append("imports across layers (importer -> imported: modules importing, imports):")
    for source in LAYERS:
        for target in LAYERS:
            if source == target:
                continue
            pairs = sorted((m, t) for m in modules[source] for t in edges[m] if layer_of(t) == target)
            if not pairs:
                out.append(f"  {source} -> {target}: none")
                continue
            importers = {m for m, _ in pairs}
            upward = LAYERS.index(target) < LAYERS.index(source)
            note = "  (UPWARD: breaks the layers)" if upward else ""
            out.append(f"  {source} -> {target}: {len(importers)} modules, {len(pairs)} imports{note}")
            if upward or len(pairs) <= 12:
                out.extend(f"    {m} -> {t}" for m, t in pairs)
    found = cycles(edges)
    out.append(f"import cycles among modules: {len(found)}")
    out.extend(f"  {' <-> '.join(group)}" for group in found)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("checkout", nargs="?", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    print_lines(report(args.checkout.resolve()))
    return 0


def print_lines(lines: Iterable[str]) -> None:
    for line in lines:
        print(line)


if __name__ == "__main__":
    raise SystemExit(main())
