"""The links a run writes through: source id -> target id per mapping, kept current as creates succeed."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass
class LinkIndex:
    """source id -> target id per mapping, kept current as creates succeed."""

    forward: dict[str, dict[str, str]]

    @classmethod
    def load(cls, frame: pl.DataFrame) -> LinkIndex:
        forward: dict[str, dict[str, str]] = {}
        for mapping, source_id, target_id in frame.iter_rows():
            forward.setdefault(mapping, {})[source_id] = target_id
        return cls(forward)

    def target(self, mapping: str, source_id: str) -> str | None:
        return self.forward.get(mapping, {}).get(source_id)

    def add(self, mapping: str, source_id: str, target_id: str) -> None:
        self.forward.setdefault(mapping, {})[source_id] = target_id
