"""An import-linter contract for cxloop's domains, written so that a new domain is covered
without editing any list.

A *domain* is every direct subpackage of the root that is not named as infrastructure or as a
top layer. For every import inside the root it checks:

1. Infrastructure (store, config, errors, …) imports no domain and no top-layer module.
2. A domain imports no top-layer module, except that its ``router`` modules may import the web
   toolkit (authentication dependencies, templating, errors): that is how pages are written.
3. A domain imports another domain only through its facade, the package itself
   (``from cxloop import profiles``), never one of its modules.
4. The domains form no cycle, counting the imports of every module except the composition
   modules (``router``, ``tasks``, ``flows``), which sit above the domains they assemble.
"""

from __future__ import annotations

from typing import Any

import grimp
from importlinter import Contract, ContractCheck, fields, output


def _leafs(module: str, root: str) -> list[str]:
    return module[len(root) + 1 :].split(".") if module.startswith(root + ".") else []


class DomainsContract(Contract):
    """Layers, facades and an acyclic order for every domain package under ``root``."""

    type_name = "domains"

    root = fields.StringField()
    infrastructure = fields.ListField(subfield=fields.StringField())
    top = fields.ListField(subfield=fields.StringField())
    toolkit = fields.ListField(subfield=fields.StringField())
    composition = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        """Check every import between two modules of the root against the four rules."""
        root: str = self.root  # type: ignore[assignment]
        infrastructure = set(self.infrastructure)  # type: ignore[arg-type]
        top = set(self.top)  # type: ignore[arg-type]
        toolkit = set(self.toolkit)  # type: ignore[arg-type]
        composition = set(self.composition)  # type: ignore[arg-type]
        domains = sorted(
            name.rsplit(".", 1)[1]
            for name in graph.find_children(root)
            if graph.find_children(name) and name.rsplit(".", 1)[1] not in infrastructure | top
        )

        def part(module: str) -> str | None:
            parts = _leafs(module, root)
            return parts[0] if parts else None

        broken: list[str] = []
        edges: dict[str, set[str]] = {d: set() for d in domains}
        for importer in sorted(graph.modules):
            source = part(importer)
            if source is None:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                target = part(imported)
                if target is None or target == source:
                    continue
                line = self._line(graph, importer, imported)
                if source in infrastructure and target not in infrastructure:
                    broken.append(
                        f"infrastructure imports {target}: {importer} -> {imported}{line}"
                    )
                elif source in domains and target in top:
                    is_router = "router" in _leafs(importer, root)[1:2]
                    if not (is_router and imported in toolkit):
                        broken.append(f"a domain imports {target}: {importer} -> {imported}{line}")
                elif source in domains and target in domains:
                    if imported != f"{root}.{target}":
                        broken.append(
                            f"past {target}'s facade: {importer} -> {imported}{line}"
                            f" (import {root}.{target})"
                        )
                    leaf = _leafs(importer, root)[1:2]
                    if not (leaf and leaf[0] in composition):
                        edges[source].add(target)
        broken.extend(f"domains in a cycle: {' -> '.join(c)}" for c in _cycles(edges))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    @staticmethod
    def _line(graph: grimp.ImportGraph, importer: str, imported: str) -> str:
        details = graph.get_import_details(importer=importer, imported=imported)
        numbers = sorted({d["line_number"] for d in details})
        return f" (l.{', '.join(map(str, numbers))})" if numbers else ""

    def render_broken_contract(self, check: ContractCheck) -> None:
        """Print one line per broken rule."""
        for line in check.metadata["broken"]:
            output.print_error(f"- {line}", bold=False)
        output.new_line()


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of domains (Tarjan), if any."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [_one_cycle(group, edges) for group in groups]


def _one_cycle(group: list[str], edges: dict[str, set[str]]) -> list[str]:
    start = group[0]
    path = [start]
    seen = {start}
    node = start
    while True:
        nxt = sorted(n for n in edges[node] if n in group)
        back = [n for n in nxt if n == start]
        if back and len(path) > 1:
            return [*path, start]
        unseen = [n for n in nxt if n not in seen]
        if not unseen:
            return [*path, start]
        node = unseen[0]
        path.append(node)
        seen.add(node)


__all__: list[Any] = ["DomainsContract"]
