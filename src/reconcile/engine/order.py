"""Dependency order: a mapping runs after every mapping its references are translated through."""

from __future__ import annotations

from collections.abc import Sequence

from reconcile.model.flow import Mapping


def mapping_order(mappings: Sequence[Mapping]) -> list[Mapping]:
    """Parents before children, otherwise in file order. The loader has already refused cycles."""
    by_name = {m.name: m for m in mappings}
    done: dict[str, Mapping] = {}

    def visit(mapping: Mapping, trail: tuple[str, ...]) -> None:
        if mapping.name in done or mapping.name in trail:
            return
        for parent in mapping.refs:
            if parent in by_name and parent != mapping.name:
                visit(by_name[parent], (*trail, mapping.name))
        done[mapping.name] = mapping

    for m in mappings:
        visit(m, ())
    return list(done.values())
