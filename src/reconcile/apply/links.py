"""The links a run writes through: source id <-> target id per mapping, kept current as creates succeed."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


@dataclass
class LinkIndex:
    """source id -> target id per mapping, and back, kept current as creates succeed and links are removed."""

    forward: dict[str, dict[str, str]] = field(default_factory=dict)
    backward: dict[str, dict[str, set[str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, frame: pl.DataFrame) -> LinkIndex:
        index = cls()
        for mapping, source_id, target_id in frame.select("mapping", "source_id", "target_id").iter_rows():
            index.add(mapping, source_id, target_id)
        return index

    def target(self, mapping: str, source_id: str) -> str | None:
        return self.forward.get(mapping, {}).get(source_id)

    def sources(self, mapping: str, target_id: str) -> set[str]:
        """The source records of ``mapping`` linked to ``target_id`` (several only where the mapping allows)."""
        return set(self.backward.get(mapping, {}).get(target_id, ()))

    def add(self, mapping: str, source_id: str, target_id: str) -> None:
        self.remove(mapping, source_id)
        self.forward.setdefault(mapping, {})[source_id] = target_id
        self.backward.setdefault(mapping, {}).setdefault(target_id, set()).add(source_id)

    def remove(self, mapping: str, source_id: str) -> None:
        old = self.forward.get(mapping, {}).pop(source_id, None)
        if old is not None:
            self.backward[mapping][old].discard(source_id)
