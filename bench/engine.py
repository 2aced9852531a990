"""How fast the engine plans a mapping, against a plain row-by-row Python diff of the same records.

Both sides get the same synthetic snapshots: N linked customers with shadows, a tenth changed in the
source, a tenth in the target, a few hundredths on both sides, and N/10 new source records. The baseline
is what one would write by hand: dictionaries keyed by id and a loop over records and properties. The
figure is the ratio of the two, measured in the same run on the same machine.
"""

from __future__ import annotations

import random
import time
from typing import Any

import polars as pl

from reconcile.config.catalogue import parse_catalogue
from reconcile.config.flow import parse_flow
from reconcile.engine.build import FlowPlan, build_plan

PROPS = ("Name", "Email", "City", "Phone", "Country")
CAT = {
    "src": parse_catalogue(
        {"system": "src", "entities": {"C": {"key": "id", "fields": {"id": {}, **{p.lower(): {} for p in PROPS}}}}},
        "src",
    ),
    "dst": parse_catalogue(
        {"system": "dst", "entities": {"A": {"key": "ID", "fields": {"ID": {}, **{p: {} for p in PROPS}}}}}, "dst"
    ),
}
FLOW = parse_flow(
    {
        "name": "bench",
        "source": "src",
        "target": "dst",
        "defaults": {"conflict": "source"},
        "mapping": [
            {
                "name": "m",
                "source": "C",
                "target": "A",
                "properties": [{"source": p.lower(), "target": p} for p in PROPS],
            }
        ],
    },
    "bench.toml",
)


def world(n: int, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rng = random.Random(seed)
    src: dict[str, list[Any]] = {"id": [], **{p.lower(): [] for p in PROPS}}
    dst: dict[str, list[Any]] = {"ID": [], **{p: [] for p in PROPS}}
    links: list[tuple[str, str, str]] = []
    shadows: list[tuple[str, str, str, str]] = []
    for i in range(n):
        values = [f"{p}-{i}-{rng.randint(0, 9)}" for p in PROPS]
        src["id"].append(str(i))
        s_vals, t_vals = list(values), list(values)
        roll = rng.random()
        if roll < 0.1:
            s_vals[0] += "x"
        elif roll < 0.2:
            t_vals[1] += "y"
        elif roll < 0.23:
            s_vals[2] += "s"
            t_vals[2] += "t"
        for p, v in zip(PROPS, s_vals, strict=True):
            src[p.lower()].append(v)
        dst["ID"].append(f"t{i}")
        for p, v in zip(PROPS, t_vals, strict=True):
            dst[p].append(v)
        links.append(("m", str(i), f"t{i}"))
        shadows.extend(("m", str(i), p, v) for p, v in zip(PROPS, values, strict=True))
    for i in range(n, n + n // 10):
        src["id"].append(str(i))
        for p in PROPS:
            src[p.lower()].append(f"{p}-{i}")
    return (
        pl.DataFrame(src),
        pl.DataFrame(dst),
        pl.DataFrame(links, schema=["mapping", "source_id", "target_id"], orient="row"),
        pl.DataFrame(shadows, schema=["mapping", "source_id", "property", "value"], orient="row"),
    )


def engine(src: pl.DataFrame, dst: pl.DataFrame, links: pl.DataFrame, shadows: pl.DataFrame) -> FlowPlan:
    return build_plan(FLOW, CAT, {("src", "C"): src, ("dst", "A"): dst}, links, shadows)


def baseline(src: pl.DataFrame, dst: pl.DataFrame, links: pl.DataFrame, shadows: pl.DataFrame) -> dict[str, int]:
    """The same three-way diff, written as a loop over records and properties."""
    s_rows = {r["id"]: r for r in src.iter_rows(named=True)}
    t_rows = {r["ID"]: r for r in dst.iter_rows(named=True)}
    base: dict[tuple[str, str], str] = {(s, p): v for _, s, p, v in shadows.iter_rows()}
    counts = {"create": 0, "update_target": 0, "update_source": 0, "in_sync": 0}
    linked = set()
    for _, s_id, t_id in links.iter_rows():
        linked.add(s_id)
        s, t = s_rows[s_id], t_rows[t_id]
        to_t = to_s = False
        for p in PROPS:
            sv, tv, bv = (s[p.lower()] or "").strip() or None, (t[p] or "").strip() or None, base.get((s_id, p))
            if sv == tv:
                continue
            if tv == bv:
                to_t = True
            elif sv == bv:
                to_s = True
            else:
                to_t = True
        counts["update_target"] += to_t
        counts["update_source"] += to_s
        counts["in_sync"] += not (to_t or to_s)
    counts["create"] = sum(1 for s_id in s_rows if s_id not in linked)
    return counts


def _best(fn: Any, *args: Any, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - start)
    return best


def run(n: int = 200_000) -> dict[str, Any]:
    frames = world(n)
    plan = engine(*frames).rows
    expected = baseline(*frames)
    got = {a: plan.filter(pl.col("action") == a).height for a in expected}
    assert got == expected, (got, expected)
    t_engine, t_base = _best(engine, *frames), _best(baseline, *frames)
    return {
        "records": n,
        "engine_s": round(t_engine, 3),
        "baseline_s": round(t_base, 3),
        "speedup": round(t_base / t_engine, 1),
    }


if __name__ == "__main__":
    result = run()
    print(f"plan {result['records']:,} linked records x {len(PROPS)} properties (+10% new)")
    print(f"  engine (Polars)         {result['engine_s']:>8.3f} s")
    print(f"  baseline (Python loop)  {result['baseline_s']:>8.3f} s")
    print(f"  speedup                 {result['speedup']:>8.1f}x")
