"""The scale benchmark's data: two files systems of customers in Parquet and the flow between them.

A customer has 16 fields: its key (``Id``, the system's own), a unique customer number (the merge key) and 14
more: strings, a nested address (``Address.Street``, ``Address.City``, ``Address.Zip``, a struct column in the
file), a date, a datetime, floats, an int and bools. The mapping ``customers`` syncs the 15 fields besides the
key, so a linked record has 15 shadow values.

Everything is made with Polars expressions (seeded shuffles and hashes for chance), never a Python loop over
records: a million a side takes a few seconds. Record ``i`` of the world has customer number ``C{i:08d}``; the
two sides number their keys apart (the source from 1, the target from 50,000,001), so that nothing pairs them
but the merge rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from bench._scale_fields import ADDRESS, CHANGEABLE, KEY, PROPERTIES, TYPES

TARGET_ID_START = 50_000_001
CITIES = ("Oslo", "Bergen", "Trondheim", "Stavanger", "Tromsø", "Drammen", "Bodø", "Ålesund")
COUNTRIES = ("NO", "SE", "DK", "FI", "DE", "NL")
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def _catalogue(system: str, title: str) -> str:
    fields = "\n".join(
        f'"{name}" = {{ type = "{kind}"{", unique = true, required = true" if name == KEY else ""}'
        f"{', decimals = 2' if kind == 'float' else ''} }}"
        for name, kind in TYPES.items()
    )
    return (
        f'system = "{system}"\ntitle = "{title}"\nkind = "files"\nformat = "parquet"\n'
        f'folder = "../../data/{system}"\n\n'
        f'[entities.Customer]\nkey = "Id"\nlabel = ["Name", "{KEY}"]\n\n[entities.Customer.fields]\n'
        f'Id = {{ type = "int", read_only = true }}\n{fields}\n'
    )


FLOW = (
    'name = "scale"\nsource = "crm"\ntarget = "ledger"\n\n[defaults]\nconflict = "source"\ndelete = "report"\n\n'
    '[[mapping]]\nname = "customers"\nsource = "Customer"\ntarget = "Customer"\n'
    f'merge = [[["{KEY}", "{KEY}"]]]\nproperties = [\n'
    + "".join(f'  {{ source = "{p}", target = "{p}", type = "{TYPES[p]}" }},\n' for p in PROPERTIES)
    + "]\n"
)


def write_project(root: Path) -> Path:
    """The flow file and the two system files under ``root``; returns the flow file."""
    systems = root / "flows" / "systems"
    systems.mkdir(parents=True, exist_ok=True)
    (systems / "crm.toml").write_text(_catalogue("crm", "CRM"), encoding="utf-8")
    (systems / "ledger.toml").write_text(_catalogue("ledger", "Ledger"), encoding="utf-8")
    for side in ("crm", "ledger"):
        (root / "data" / side).mkdir(parents=True, exist_ok=True)
    flow = root / "flows" / "scale.toml"
    flow.write_text(FLOW, encoding="utf-8")
    return flow


def data_file(root: Path, side: str) -> Path:
    """The Parquet file of side ``crm`` (source) or ``ledger`` (target)."""
    return root / "data" / side / "Customer.parquet"


def records(first: int, count: int) -> pl.DataFrame:
    """Records ``first`` to ``first + count - 1`` of the world, flat (dotted names), without ``Id``."""
    frame = pl.DataFrame({"i": pl.int_range(first, first + count, dtype=pl.Int64, eager=True)})
    return frame.select(
        pl.format("C{}", pl.col("i").cast(pl.String).str.zfill(8)).alias(KEY),
        pl.format("Customer {} AS", pl.col("i")).alias("Name"),
        pl.format("post{}@example.no", pl.col("i")).alias("Email"),
        pl.format("+47 {}", (pl.col("i") * 7919 % 100_000_000).cast(pl.String).str.zfill(8)).alias("Phone"),
        pl.lit(pl.Series(COUNTRIES)).gather(pl.col("i") % len(COUNTRIES)).alias("Country"),
        pl.format("Storgata {}", pl.col("i") % 997 + 1).alias("Address.Street"),
        pl.lit(pl.Series(CITIES)).gather(pl.col("i") * 13 % len(CITIES)).alias("Address.City"),
        (pl.col("i") * 31 % 9000 + 1000).cast(pl.String).alias("Address.Zip"),
        (pl.lit(date(2000, 1, 1)) + pl.duration(days=pl.col("i") % 9000)).alias("Since"),
        (pl.lit(EPOCH) + pl.duration(seconds=pl.col("i") * 37 % 20_000_000)).alias("LastOrder"),
        ((pl.col("i") * 7 % 100_000).cast(pl.Float64) / 100 + 0.25).alias("Balance"),
        ((pl.col("i") % 50).cast(pl.Float64) * 1000.0).alias("CreditLimit"),
        (pl.col("i") % 300).alias("Orders"),
        (pl.col("i") % 3 != 0).alias("Active"),
        (pl.col("i") % 2 == 0).alias("Newsletter"),
    )


def _changed(name: str) -> pl.Expr:
    """Property ``name`` of a record, edited: never blank, never equal to what it was."""
    col = pl.col(name)
    kind = TYPES[name]
    if kind == "string":
        return col + " (edited)"
    if kind == "date":
        return col + pl.duration(days=1)
    if kind == "datetime":
        return col + pl.duration(hours=1)
    if kind == "float":
        return col + 1.25
    if kind == "int":
        return col + 1
    return ~col


STEPS = (1, 3, 5, 9, 11, 13)
"""The steps coprime to 14: a start and a step walk 1 to 3 distinct properties of the 14."""


def edit(frame: pl.DataFrame, rows: pl.Series, seed: int) -> pl.DataFrame:
    """``frame`` with the records where ``rows`` is true changed in 1 to 3 of the changeable properties each.

    Record r changes ``k`` in 1..3 properties: those at ``start + j * step`` (mod 14) for j < k, with ``k``,
    ``start`` and ``step`` drawn from hashes of r: property f is one of them when ``(f - start) * step'`` (mod
    14, ``step'`` the inverse of the step) is below ``k``.
    """
    r = pl.int_range(0, pl.len(), dtype=pl.UInt64)
    k = (r.hash(seed) % 3 + 1).cast(pl.Int64)
    start = (r.hash(seed + 1) % len(CHANGEABLE)).cast(pl.Int64)
    step = pl.lit(pl.Series(STEPS)).gather((r.hash(seed + 2) % len(STEPS)).cast(pl.Int64))
    chosen = rows.alias("_edit")
    flagged = frame.with_columns(chosen, k.alias("_k"), start.alias("_start"), step.alias("_step"))
    return flagged.with_columns(
        pl.when(pl.col("_edit") & (((f - pl.col("_start")) % len(CHANGEABLE) * pl.col("_step")) % 14 < pl.col("_k")))
        .then(_changed(name))
        .otherwise(pl.col(name))
        .alias(name)
        for f, name in enumerate(CHANGEABLE)
    ).drop("_edit", "_k", "_start", "_step")


def _mask(height: int, positions: pl.Series) -> pl.Series:
    """A boolean series of ``height`` that is true at ``positions``."""
    return pl.int_range(0, height, eager=True).is_in(positions.implode())


def nest(frame: pl.DataFrame) -> pl.DataFrame:
    """The file's shape: dotted address fields folded into an ``Address`` struct column."""
    dotted = [f"Address.{f}" for f in ADDRESS]
    address = pl.struct([pl.col(d).alias(d.split(".", 1)[1]) for d in dotted]).alias("Address")
    columns = [c for c in frame.columns if c not in dotted]
    at = columns.index("Country") + 1
    return frame.select(*columns[:at], address, *columns[at:])


def with_ids(frame: pl.DataFrame, start: int) -> pl.DataFrame:
    return frame.select(pl.int_range(start, start + frame.height, dtype=pl.Int64).alias("Id"), pl.all())


@dataclass(frozen=True)
class Truth:
    """What the generator made: the counts the diffs must find."""

    source_only: int
    """Records whose customer number only the source holds: creates."""
    target_only: int
    """Records whose customer number only the target holds: a 2-way diff's deletes."""
    changed_records: int
    changed_cells: int
    left_alone: int
    """Target records on no link that match nothing: a plan leaves them alone (a 2-way diff sees deletes)."""


def first_sync(n: int, seed: int = 11) -> tuple[pl.DataFrame, pl.DataFrame, Truth]:
    """Source and target of ``n`` records each (flat, with ids): 5% only in the source, 5% only in the target,
    and 5% of the records on both sides changed in the target in 1 to 3 properties. The target's rows are
    shuffled."""
    only = n // 20
    universe = records(0, n + only)
    source = universe.slice(0, n)
    target = universe.slice(only, n)
    shared = n - only  # the first rows of the target are the records both sides hold
    changed = pl.int_range(0, shared, eager=True).sample(only, seed=seed)
    target = edit(target, _mask(n, changed), seed)
    before = source.slice(only, shared)
    cells = target.slice(0, shared).select(
        pl.sum_horizontal(pl.col(c).ne_missing(before[c]) for c in CHANGEABLE).alias("cells")
    )["cells"]
    truth = Truth(only, only, int((cells > 0).sum()), int(cells.sum()), only)
    target = target.sample(fraction=1.0, shuffle=True, seed=seed)
    return with_ids(source, 1), with_ids(target, TARGET_ID_START), truth


def in_sync(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``n`` records, the same on both sides: what a first run links and records the shadows of."""
    universe = records(0, n)
    return with_ids(universe, 1), with_ids(universe, TARGET_ID_START)


def night(source: pl.DataFrame, target: pl.DataFrame, seed: int = 12) -> tuple[pl.DataFrame, pl.DataFrame, Truth]:
    """A night's edits to sides that were in sync (the same records in the same order, as :func:`in_sync` makes
    them): 5% of the records changed in 1 to 3 properties (half of them in the source, the others in the
    target), 5% new in each side, and 1% deleted from the source. Returns the new sides and what a diff finds."""
    n = source.height
    part = n // 20
    gone = n // 100
    order = pl.int_range(0, n, eager=True).shuffle(seed=seed)
    in_source, in_target, deleted = (
        order.slice(0, part // 2),
        order.slice(part // 2, part - part // 2),
        order.slice(part, gone),
    )
    edited_source = edit(source, _mask(n, in_source), seed)
    edited_target = edit(target, _mask(n, in_target), seed + 10)
    cells = (
        pl.concat(
            [
                edited_source.select(pl.sum_horizontal(pl.col(c).ne_missing(source[c]) for c in CHANGEABLE).alias("s")),
                edited_target.select(pl.sum_horizontal(pl.col(c).ne_missing(target[c]) for c in CHANGEABLE).alias("t")),
            ],
            how="horizontal",
        )
        .select(pl.sum_horizontal(pl.all()).alias("cells"))
        .filter(~_mask(n, deleted))["cells"]
    )
    fresh = records(n, 2 * part)
    source = pl.concat([edited_source.filter(~_mask(n, deleted)), with_ids(fresh.slice(0, part), n + 1)])
    target = pl.concat([edited_target, with_ids(fresh.slice(part, part), TARGET_ID_START + n)])
    return source, target, Truth(part, part + gone, int((cells > 0).sum()), int(cells.sum()), part)


def write_sides(root: Path, source: pl.DataFrame, target: pl.DataFrame) -> None:
    """Write both sides' files, dotted fields nested as the address struct."""
    nest(source).write_parquet(data_file(root, "crm"))
    nest(target).write_parquet(data_file(root, "ledger"))


def read_side(root: Path, side: str) -> pl.DataFrame:
    """A side's file, flat again (dotted names), as :func:`night` takes it."""
    return pl.read_parquet(data_file(root, side)).unnest("Address", separator=".")
