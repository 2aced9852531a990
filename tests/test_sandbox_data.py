"""The bundled sandbox holds together: flows, custom system files, seed data and the previous night's links.

What is checked, and why it matters for ``reconcile demo``:

- every flow file and every custom system file loads;
- every data file's records use only fields their catalogue knows (an unknown field is a typo that would
  silently read as null);
- ids are unique per entity;
- every link of ``state.json`` names a flow, a mapping of it, a source record and a target record that exist,
  and shadows only the mapping's properties; a source record may be missing only where the README's scenario
  says it was deleted in the source;
- the data files are exactly what ``data/sandbox/generate.py`` writes.

The PowerOffice seed files follow the emulator's layout (``Customers.json`` holds companies and persons,
sales orders carry their lines nested); :data:`PO_FILES` says which catalogue entity each record belongs to.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from reconcile.config.flow import load_flow
from reconcile.config.systemfile import load_catalogue_file
from reconcile.errors import ConfigError
from reconcile.model.catalogue import Catalogue
from reconcile.model.flow import Flow
from reconcile.systems.catalogues import builtin_catalogue

ROOT = Path(__file__).resolve().parent.parent
FLOWS = ROOT / "flows"
SANDBOX = ROOT / "data" / "sandbox"
CUSTOM = ("webshop", "crm", "erp", "pms")
FLOW_NAMES = (
    "powerofficego-to-exact",
    "exact-online-to-custom-pms",
    "custom-webshop-to-exact",
    "customcrm-to-exact",
    "custom-erp-to-custom-pms",
)

# PowerOffice seed file -> the catalogue entity of its records (persons split off by IsPerson).
PO_FILES: dict[str, tuple[str, str | None]] = {
    "Customers": ("Customers", "Customers person"),
    "Suppliers": ("Suppliers", "Suppliers person"),
    "Employees": ("Employees", None),
    "Departments": ("Departments", None),
    "Products": ("Product", None),
    "VatCodes": ("VatCodes", None),
    "SalesOrders": ("SalesOrders", None),
    "ContactPersons": ("Contactperson", None),
    "Locations": ("Location", None),
    "Quotes": ("Quote", None),
    "Currencies": ("Currency", None),
}
PO_NESTED_LINES = "SalesOrderLines"


@cache
def catalogue(system: str) -> Catalogue:
    """A system's catalogue; the test skips (never fails) while a built-in catalogue is still being written."""
    if system in CUSTOM:
        return load_catalogue_file(FLOWS / "systems" / f"{system}.toml")
    try:
        return builtin_catalogue(system)
    except ConfigError as exc:
        pytest.skip(f"the {system} catalogue is not available yet: {exc}")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def flatten(record: dict[str, Any]) -> dict[str, Any]:
    """Nested objects as dotted field names (``MailAddress.City``), as the catalogues name them."""
    flat: dict[str, Any] = {}
    for name, value in record.items():
        if isinstance(value, dict):
            for inner, inner_value in flatten(value).items():
                flat[f"{name}.{inner}"] = inner_value
        else:
            flat[name] = value
    return flat


def entity_records(system: str) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Every record of a system's data folder by catalogue entity name, with the file it came from."""
    return _entity_records(system)


@cache
def _entity_records(system: str) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for path in sorted((SANDBOX / system).glob("*.json")):
        rows = read_json(path)
        assert isinstance(rows, list), f"{path}: a seed file holds a JSON array of records"
        where = f"{system}/{path.name}"
        if system != "poweroffice":
            for row in rows:
                out.setdefault(path.stem, []).append((where, flatten(row)))
            continue
        assert path.stem in PO_FILES, f"{where}: not a PowerOffice seed file; valid names: {sorted(PO_FILES)}"
        company, person = PO_FILES[path.stem]
        for row in rows:
            lines = row.pop(PO_NESTED_LINES, None) if path.stem == "SalesOrders" else None
            entity = person if person is not None and row.get("IsPerson") else company
            out.setdefault(entity, []).append((where, flatten(row)))
            for line in lines or []:
                out.setdefault("SalesOrderLines", []).append((f"{where} (nested lines)", flatten(line)))
    return out


def ids(system: str, entity_name: str) -> set[str]:
    entity = catalogue(system).entity(entity_name)
    assert entity is not None, f"{system} has no entity {entity_name}"
    return {str(r[entity.key]) for _, r in entity_records(system).get(entity.name, []) if entity.key in r}


def flows() -> Iterator[Flow]:
    for path in sorted(FLOWS.glob("*.toml")):
        yield load_flow(path)


# ------------------------------------------------------------------------------------------------ files


def test_the_five_flows_load() -> None:
    loaded = {f.name: f for f in flows()}
    assert set(FLOW_NAMES) <= set(loaded)
    for name in FLOW_NAMES:
        assert (FLOWS / f"{name}.toml").exists()
    erp = loaded["custom-erp-to-custom-pms"]
    assert [m.name for m in erp.mappings] == ["customers", "projects"]
    assert len(erp.warnings) == 2, "the repeated ERP -> PMS mappings are folded with a warning each"


@pytest.mark.parametrize("system", CUSTOM)
def test_custom_system_files_load(system: str) -> None:
    cat = catalogue(system)
    assert cat.system == system
    for entity in cat.entities.values():
        assert entity.modified is not None, f"{system} {entity.name} has no modified field"
        assert entity.fields[entity.modified].type == "datetime"
        assert entity.fields[entity.key].read_only, f"{system} {entity.name}: the id is assigned by the system"


@pytest.mark.parametrize("system", ["poweroffice", "exact", *CUSTOM])
def test_records_use_only_catalogue_fields(system: str) -> None:
    cat = catalogue(system)
    records = entity_records(system)
    assert records, f"data/sandbox/{system}/ holds no data"
    problems: list[str] = []
    for entity_name, rows in records.items():
        entity = cat.entity(entity_name)
        if entity is None or entity.name != entity_name:
            problems.append(f"{rows[0][0]}: {system} has no entity {entity_name}{cat.suggest(entity_name)}")
            continue
        for where, row in rows:
            unknown = sorted(set(row) - set(entity.fields))
            if unknown:
                problems.append(f"{where}: {entity_name} {row.get(entity.key)}: unknown fields {unknown}")
    assert not problems, "\n".join(problems[:20])


@pytest.mark.parametrize("system", ["poweroffice", "exact", *CUSTOM])
def test_ids_are_unique_per_entity(system: str) -> None:
    cat = catalogue(system)
    for entity_name, rows in entity_records(system).items():
        entity = cat.entity(entity_name)
        assert entity is not None
        keys = [str(row.get(entity.key)) for _, row in rows]
        assert None not in [row.get(entity.key) for _, row in rows], f"{system} {entity_name}: a record has no id"
        doubles = sorted({k for k in keys if keys.count(k) > 1})
        assert not doubles, f"{system} {entity_name}: ids used twice: {doubles[:10]}"


def test_poweroffice_files_are_the_emulators() -> None:
    try:
        from reconcile.sandbox.poweroffice.model import RESOURCES
    except ImportError:
        pytest.skip("the PowerOffice emulator is not available yet")
    for path in (SANDBOX / "poweroffice").glob("*.json"):
        assert path.stem in RESOURCES, f"the PowerOffice emulator does not load {path.name}"


# ------------------------------------------------------------------------------------------------ state.json


def deleted_in_readme() -> set[str]:
    """Source ids the README's scenario tables list as deleted in the source."""
    out: set[str] = set()
    for line in (SANDBOX / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and cells[1].startswith("deleted in the source"):
            out.add(cells[2])
    return out


def test_every_link_names_what_exists() -> None:
    by_name = {f.name: f for f in flows()}
    links = read_json(SANDBOX / "state.json")["links"]
    assert links
    deleted = deleted_in_readme()
    problems: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for i, link in enumerate(links):
        where = f"state.json links[{i}]"
        flow = by_name.get(link["flow"])
        if flow is None:
            problems.append(f"{where}: no flow {link['flow']}")
            continue
        try:
            mapping = flow.mapping(link["mapping"])
        except KeyError:
            problems.append(f"{where}: flow {flow.name} has no mapping {link['mapping']}")
            continue
        source_id, target_id = link["source_id"], link["target_id"]
        assert isinstance(source_id, str) and isinstance(target_id, str), f"{where}: ids are strings"
        key = (flow.name, mapping.name, source_id)
        if key in seen:
            problems.append(f"{where}: {mapping.name} links source {source_id} twice")
        seen.add(key)
        if source_id not in ids(flow.source, mapping.source) and source_id not in deleted:
            problems.append(f"{where}: no {flow.source} {mapping.source} {source_id}")
        if target_id not in ids(flow.target, mapping.target):
            problems.append(f"{where}: no {flow.target} {mapping.target} {target_id}")
        synced = {p.target for p in mapping.properties if p.source is not None}
        extra = sorted(set(link.get("shadow", {})) - synced)
        if extra:
            problems.append(f"{where}: shadow of {sorted(extra)}, which {mapping.name} does not sync")
    assert not problems, "\n".join(problems[:20])


def test_each_target_is_linked_once_per_mapping() -> None:
    links = read_json(SANDBOX / "state.json")["links"]
    targets = [(link["flow"], link["mapping"], link["target_id"]) for link in links]
    doubles = _doubles(targets)
    assert not doubles, f"targets linked twice: {sorted(doubles)[:5]}"


def _doubles(items: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    seen: set[tuple[str, str, str]] = set()
    doubles: set[tuple[str, str, str]] = set()
    for item in items:
        (doubles if item in seen else seen).add(item)
    return doubles


# ------------------------------------------------------------------------------------------------ generator


def test_the_data_is_what_the_generator_writes() -> None:
    catalogue("exact"), catalogue("poweroffice")  # the generator reads both
    spec = importlib.util.spec_from_file_location("sandbox_generate", SANDBOX / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    try:
        spec.loader.exec_module(module)
        world = module.build()
    finally:
        del sys.modules[spec.name]
    for rel, records in module.seed_files(world).items():
        path = SANDBOX / rel
        assert path.exists(), f"{rel} is missing: run data/sandbox/generate.py"
        assert path.read_text(encoding="utf-8") == module._json_array(records), (
            f"{rel} is not what data/sandbox/generate.py writes: run it again and commit the result"
        )
