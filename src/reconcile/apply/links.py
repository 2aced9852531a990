"""The links a run writes through: source id <-> target id per mapping, kept current as creates succeed."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl


@dataclass
class LinkIndex:
    """source id -> target id per mapping, and back, kept current as creates succeed and links are removed.

    A night may hold a million links and write a few hundred records: the index is made from the frame in
    bulk, and the way back (target -> sources) only for a mapping whose writes ask it.
    """

    forward: dict[str, dict[str, str]] = field(default_factory=dict)
    _backward: dict[str, dict[str, set[str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, frame: pl.DataFrame) -> LinkIndex:
        index = cls()
        index.reload(frame)
        return index

    def reload(self, frame: pl.DataFrame) -> None:
        """Hold the links of ``frame`` (mapping, source_id, target_id) instead of what it held."""
        self.forward.clear()
        self._backward.clear()
        for (mapping,), own in frame.partition_by("mapping", as_dict=True).items():
            sources, targets = own["source_id"].to_list(), own["target_id"].to_list()
            self.forward[str(mapping)] = dict(zip(sources, targets, strict=True))

    def target(self, mapping: str, source_id: str) -> str | None:
        return self.forward.get(mapping, {}).get(source_id)

    def _back(self, mapping: str) -> dict[str, set[str]]:
        if mapping not in self._backward:
            back: dict[str, set[str]] = {}
            for source_id, target_id in self.forward.get(mapping, {}).items():
                back.setdefault(target_id, set()).add(source_id)
            self._backward[mapping] = back
        return self._backward[mapping]

    def sources(self, mapping: str, target_id: str) -> set[str]:
        """The source records of ``mapping`` linked to ``target_id`` (several only where the mapping allows)."""
        return set(self._back(mapping).get(target_id, ()))

    def add(self, mapping: str, source_id: str, target_id: str) -> None:
        self.remove(mapping, source_id)
        self.forward.setdefault(mapping, {})[source_id] = target_id
        if mapping in self._backward:
            self._backward[mapping].setdefault(target_id, set()).add(source_id)

    def remove(self, mapping: str, source_id: str) -> None:
        old = self.forward.get(mapping, {}).pop(source_id, None)
        if old is not None and mapping in self._backward:
            self._backward[mapping][old].discard(source_id)
