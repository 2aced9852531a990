"""The scale benchmark's yardsticks, each run in a process of its own: DuckDB's SQL diff and the floor.

``python -m bench._scale_diff duckdb SOURCE TARGET OUT`` diffs two customer files by customer number in SQL:
the creates (source records whose number the target lacks), the deletes (target records whose number the
source lacks) and the changed cells (one row per record and field that differ, with the target's value as
``old`` and the source's as ``new``), each written to a Parquet file in the folder ``OUT``, and prints the
counts as JSON. ``python -m bench._scale_diff floor SOURCE TARGET`` is the least any diff does: both files read
whole by Polars and joined on the key; it prints the joined rows' count.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb

from bench._scale_fields import CHANGEABLE, KEY


def _column(side: str, name: str) -> str:
    """A (dotted) field of a side in SQL: ``s."Address"."City"``."""
    return ".".join([side, *(f'"{part}"' for part in name.split("."))])


def _quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def duckdb_diff(source: Path, target: Path, out: Path) -> dict[str, int]:
    """Creates, deletes and changed cells of ``source`` against ``target``, materialised as Parquet in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW s AS SELECT * FROM read_parquet({_quoted(source)})")
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet({_quoted(target)})")
    cells = ",\n".join(
        f"CASE WHEN {_column('s', c)} IS DISTINCT FROM {_column('t', c)} THEN "
        f"{{'field': '{c}', 'old': {_column('t', c)}::VARCHAR, 'new': {_column('s', c)}::VARCHAR}} END"
        for c in CHANGEABLE
    )
    queries = {
        "creates": f'SELECT s.* FROM s ANTI JOIN t ON s."{KEY}" = t."{KEY}"',
        "deletes": f'SELECT t.* FROM t ANTI JOIN s ON s."{KEY}" = t."{KEY}"',
        "cells": (
            f"SELECT key, cell.field AS field, cell.old AS old, cell.new AS new FROM ("
            f'SELECT s."{KEY}" AS key, unnest([{cells}]) AS cell FROM s JOIN t ON s."{KEY}" = t."{KEY}"'
            f") WHERE cell IS NOT NULL"
        ),
    }
    counts: dict[str, int] = {}
    for name, query in queries.items():
        written = con.execute(f"COPY ({query}) TO {_quoted(out / f'{name}.parquet')} (FORMAT parquet)").fetchone()
        counts[name] = int(written[0]) if written else 0
    changed = con.execute(f"SELECT count(DISTINCT key) FROM read_parquet({_quoted(out / 'cells.parquet')})")
    row = changed.fetchone()
    counts["changed_records"] = int(row[0]) if row else 0
    con.close()
    return counts


def floor_join(source: Path, target: Path) -> int:
    """Both files read whole and joined on the key (a full join): the rows it makes."""
    import polars as pl  # here: DuckDB's process does without it

    return pl.read_parquet(source).join(pl.read_parquet(target), on=KEY, how="full").height


def main(argv: list[str]) -> None:
    what, source, target, *rest = argv
    if what == "duckdb":
        print(json.dumps(duckdb_diff(Path(source), Path(target), Path(rest[0]))))
    elif what == "floor":
        print(json.dumps({"rows": floor_join(Path(source), Path(target))}))
    else:
        raise SystemExit(f"unknown yardstick {what!r}: duckdb or floor")


if __name__ == "__main__":
    main(sys.argv[1:])
