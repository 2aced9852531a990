"""The sandbox's previous night: shadows seeded a column at a time are the values cast one by one.

:func:`seed_history` makes each property's values canonical in one column per inferred type. The reference
here casts each value in a frame of its own, as the engine records a value it has just written; the two must
agree on every value, whatever mix of types a property's values come in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from reconcile.config.flow import load_flow
from reconcile.engine.normalize import canonical, canonical_for
from reconcile.model.catalogue import Catalogue
from reconcile.model.flow import Flow
from reconcile.model.shadows import narrow
from reconcile.sandbox.history import load_history, seed_history
from reconcile.state.store import StateStore
from reconcile.systems.registry import Systems
from tests.engine.world import CATALOGUES, flow

ROOT = Path(__file__).resolve().parents[2]
ODD = ["1980-05-17", " 1980-05-17T00:00:00 ", "", None, 19800517, 2**63, 80, 80.0, 5.5, True, False, "ja", " NO "]
"""Values of every JSON type, and texts each property type has something to say about."""


def cast_alone(flows: list[Flow], catalogues: dict[str, Catalogue], entry: dict[str, Any], prop: str) -> str | None:
    """The canonical value of one shadow, cast in a frame of its own."""
    the_flow = next(f for f in flows if f.name == entry["flow"])
    mapping = the_flow.mapping(entry["mapping"])
    target = catalogues[the_flow.target].entity(mapping.target)
    p = mapping.property_for(prop)
    assert p is not None
    series = pl.Series("v", [entry["shadow"][prop]])
    expr = (
        canonical(pl.col("v"), series.dtype, "string")
        if p.ref
        else canonical_for(pl.col("v"), series.dtype, target.field_named(prop) if target else None, p.type)
    )
    value: str | None = pl.DataFrame([series]).select(expr.alias("v"))["v"][0]
    return value


def seeded(
    tmp_path: Path, history: Path, flows: list[Flow], catalogues: dict[str, Catalogue]
) -> dict[tuple[str, str, str, str], str | None]:
    with StateStore(tmp_path / "state.db") as store:
        seed_history(store, history, flows, catalogues)
        return {(f.name, m, s, p): v for f in flows for m, s, p, v in narrow(store.shadows(f.name)).iter_rows()}


def expected(
    history: Path, flows: list[Flow], catalogues: dict[str, Catalogue]
) -> dict[tuple[str, str, str, str], str | None]:
    names = {f.name for f in flows}
    return {
        (e["flow"], e["mapping"], str(e["source_id"]), prop): cast_alone(flows, catalogues, e, prop)
        for e in load_history(history)
        if e["flow"] in names
        for prop in e.get("shadow") or {}
    }


def test_every_type_of_value_is_cast_as_it_would_be_alone(tmp_path: Path) -> None:
    the_flow = flow()
    props = {
        "customers": ["Name", "Email", "BirthDate", "Country", "Code"],
        "orders": ["Customer", "Amount"],
    }
    links = [
        {
            "flow": the_flow.name,
            "mapping": mapping,
            "source_id": f"{mapping}-{i}",
            "target_id": f"t{i}",
            "shadow": {prop: ODD[(i + j) % len(ODD)] for j, prop in enumerate(names)},
        }
        for mapping, names in props.items()
        for i in range(len(ODD))
    ]
    history = tmp_path / "state.json"
    history.write_text(json.dumps({"links": links}), encoding="utf-8")
    got = seeded(tmp_path, history, [the_flow], CATALOGUES)
    assert got == expected(history, [the_flow], CATALOGUES)
    # The mix really is mixed: a property's column holds texts, numbers and blanks side by side.
    assert {type(v) for v in got.values()} == {str, type(None)}
    assert len(got) == sum(len(names) for names in props.values()) * len(ODD)


def test_the_bundled_previous_night_is_cast_as_it_would_be_alone(tmp_path: Path) -> None:
    data = json.loads((ROOT / "data" / "sandbox" / "state.json").read_text(encoding="utf-8"))
    history = tmp_path / "state.json"
    # Every 20th link of every flow: enough for each property's every type, quick to cast one by one.
    history.write_text(json.dumps({"links": data["links"][::20]}), encoding="utf-8")
    flows = [load_flow(path) for path in sorted((ROOT / "flows").glob("*.toml"))]
    systems = Systems(flows_dir=ROOT / "flows", state_dir=tmp_path / "unused")
    catalogues = {name: systems.catalogue(name) for f in flows for name in (f.source, f.target)}
    got = seeded(tmp_path, history, flows, catalogues)
    assert got == expected(history, flows, catalogues)
    assert len(got) > 1000
