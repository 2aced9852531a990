"""Number-range filters of v2 lists: ``customerNos=10000-11000, 12000, 13000-``."""

from __future__ import annotations

from typing import Any

from reconcile.sandbox.poweroffice.problem import ApiProblem


def parse_number_ranges(text: str, name: str) -> list[tuple[int, int | None]]:
    """``"10000-11000, 12000, 13000-"`` as (low, high) pairs; ``None`` is open-ended."""
    ranges: list[tuple[int, int | None]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                low, high = part.split("-", 1)
                ranges.append((int(low), int(high) if high.strip() else None))
            else:
                ranges.append((int(part), int(part)))
        except ValueError:
            raise ApiProblem(400, "Unable to cast object(s)", f"{name} contains values that are not numbers.") from None
    return ranges


def in_ranges(value: Any, ranges: list[tuple[int, int | None]]) -> bool:
    if not isinstance(value, int):
        return False
    return any(low <= value and (high is None or value <= high) for low, high in ranges)
