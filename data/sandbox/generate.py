"""Write the sandbox's seed data, the previous night's links and the scenario they play.

Run from the repository root: ``python data/sandbox/generate.py``. The output is deterministic (a fixed
random seed, fixed dates): running it again rewrites the same bytes.

It writes, under ``data/sandbox/``:

- ``poweroffice/`` and ``exact/``: the emulators' seed files (see the module docs of
  ``reconcile.sandbox.poweroffice`` and ``reconcile.sandbox.exact`` for the layout);
- ``webshop/``, ``crm/``, ``erp/``, ``pms/``: one ``<Entity>.json`` array per entity of the system files in
  ``flows/systems/``;
- ``state.json``: the links and shadows the last nightly run left behind;
- ``README.md``: the scenario, per flow: which record plays which part and what the demo runs show.

How it works: it builds every system as it was right after the last nightly sync (LAST_SYNC), linking each
synced source record to a target record built from it through the flow's own properties, so that linked
pairs agree and every shadow equals both sides. Then it applies what happened during the day (edits on
either side, deletes, new records) and records each as a scenario row.
"""

from __future__ import annotations

import json
import random
import tomllib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FLOW_DIR = ROOT / "flows"
CATALOGUE_FILES = {
    "exact": ROOT / "src" / "reconcile" / "systems" / "catalogues" / "exact.toml",
    "poweroffice": ROOT / "src" / "reconcile" / "systems" / "catalogues" / "poweroffice.toml",
    "webshop": FLOW_DIR / "systems" / "webshop.toml",
    "crm": FLOW_DIR / "systems" / "crm.toml",
    "erp": FLOW_DIR / "systems" / "erp.toml",
    "pms": FLOW_DIR / "systems" / "pms.toml",
}
FLOW_FILES = (
    "powerofficego-to-exact",
    "custom-webshop-to-exact",
    "customcrm-to-exact",
    "exact-online-to-custom-pms",
    "custom-erp-to-custom-pms",
)

SEED = 20251124
LAST_SYNC = datetime(2025, 11, 24, 1, 30, tzinfo=UTC)
"""When the previous nightly run finished; everything before it is in sync, everything after is news."""
DAY = LAST_SYNC.replace(hour=0, minute=0)
DIVISION = 123456

# PowerOffice seed files: the emulator keeps companies and persons in one collection, and order lines nested
# in their order. Entity (catalogue name) -> seed file name.
PO_FILES = {
    "Customers": "Customers",
    "Customers person": "Customers",
    "Suppliers": "Suppliers",
    "Suppliers person": "Suppliers",
    "Employees": "Employees",
    "Departments": "Departments",
    "Product": "Products",
    "VatCodes": "VatCodes",
    "SalesOrders": "SalesOrders",
    "Contactperson": "ContactPersons",
    "Location": "Locations",
    "Quote": "Quotes",
    "Currency": "Currencies",
}

Record = dict[str, Any]

# ------------------------------------------------------------------------------------------------ name pools

NO_FIRST = (
    "Ola Kari Per Anne Lars Ingrid Jon Marit Nils Hilde Erik Silje Knut Tone Bjørn Ragnhild Magnus Ingeborg "
    "Håkon Sigrid Anders Liv Eirik Astrid Sindre Marte Tor Solveig Even Tuva Henrik Nora Øystein Camilla "
    "Jørgen Maria Arne Ida Espen Kristin"
).split()
NO_LAST = (
    "Nordmann Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Johnsen "
    "Pettersen Eriksen Berg Haugen Hagen Johannessen Andreassen Jacobsen Dahl Jørgensen Halvorsen Henriksen "
    "Lund Sørensen Jakobsen Moen Gundersen Iversen Strand Solberg Svendsen Eide Knutsen Martinsen Paulsen "
    "Bakken Kristoffersen Mathisen Lie Amundsen Nygård Rønning Berntsen"
).split()
NO_STREETS = (
    "Storgata",
    "Kirkegata",
    "Dronningens gate",
    "Karl Johans gate",
    "Torggata",
    "Strandveien",
    "Bryggen",
    "Kongens gate",
    "Olav Tryggvasons gate",
    "Markveien",
    "Industriveien",
    "Havnegata",
    "Skolegata",
    "Parkveien",
    "Fjordveien",
    "Sjøgata",
    "Grønland",
    "Nedre Slottsgate",
    "Øvre Vollgate",
    "Jernbanetorget",
)
NO_PLACES = (
    ("0155", "Oslo"),
    ("0158", "Oslo"),
    ("0182", "Oslo"),
    ("0250", "Oslo"),
    ("0484", "Oslo"),
    ("5003", "Bergen"),
    ("5014", "Bergen"),
    ("7010", "Trondheim"),
    ("7030", "Trondheim"),
    ("4006", "Stavanger"),
    ("9008", "Tromsø"),
    ("3015", "Drammen"),
    ("4610", "Kristiansand"),
    ("1606", "Fredrikstad"),
    ("6002", "Ålesund"),
    ("8006", "Bodø"),
    ("2609", "Lillehammer"),
    ("2317", "Hamar"),
    ("3111", "Tønsberg"),
    ("1530", "Moss"),
)
NO_PREFIX = (
    "Fjord Nord Vest Berg Lys Havbris Polar Skog Elv Tind Brygge Solsiden Nordkapp Vidde Fossen Snøhvit "
    "Kyst Lofot Bjørke Furu Granitt Midnatt Nordlys Trollheim Sjø Viking"
).split()
NO_SUFFIX = (
    "Bygg Elektro Rør Regnskap Maskin Transport Eiendom Data Consult Marin Trevare Mat Entreprenør Tak Maling "
    "Ventilasjon Anlegg Handel Media Logistikk"
).split()

NL_FIRST = (
    "Jan Sanne Pieter Emma Daan Lotte Bram Femke Thijs Anouk Ruben Fleur Joris Sophie Lars Eva Sander "
    "Iris Koen Julia Niels Marieke Wouter Noor Bas Lieke Tim Esther Jeroen Anne Maarten Roos Stijn Ilse"
).split()
NL_LAST = (
    "de Vries|Jansen|van den Berg|Bakker|Visser|Smit|Meijer|de Boer|Mulder|de Groot|Bos|Vos|Peters|"
    "Hendriks|van Leeuwen|Dekker|Brouwer|de Wit|Dijkstra|Smits|de Graaf|van der Meer|van der Linden|Kok|"
    "Jacobs|de Haan|Vermeulen|van den Heuvel|van der Veen|van den Broek|Schouten|Willems|van Dijk|Hoekstra"
).split("|")
NL_STREETS = (
    "Keizersgracht",
    "Herengracht",
    "Prinsengracht",
    "Damrak",
    "Kalverstraat",
    "Coolsingel",
    "Oudegracht",
    "Stationsplein",
    "Lange Voorhout",
    "Grote Markt",
    "Vismarkt",
    "Markt",
    "Kerkstraat",
    "Dorpsstraat",
    "Industrieweg",
    "Havenstraat",
    "Nieuwe Binnenweg",
    "Witte de Withstraat",
    "Vredenburg",
    "Stratumseind",
)
NL_PLACES = (
    ("1015", "Amsterdam", "20"),
    ("1017", "Amsterdam", "20"),
    ("1071", "Amsterdam", "20"),
    ("3011", "Rotterdam", "10"),
    ("3014", "Rotterdam", "10"),
    ("3511", "Utrecht", "30"),
    ("2511", "Den Haag", "70"),
    ("5611", "Eindhoven", "40"),
    ("9711", "Groningen", "50"),
    ("2011", "Haarlem", "23"),
    ("2311", "Leiden", "71"),
    ("6211", "Maastricht", "43"),
    ("8011", "Zwolle", "38"),
    ("6811", "Arnhem", "26"),
    ("6511", "Nijmegen", "24"),
    ("5038", "Tilburg", "13"),
    ("4811", "Breda", "76"),
    ("2611", "Delft", "15"),
    ("3811", "Amersfoort", "33"),
)
NL_PREFIX = (
    "Noord Zuid Holland Delta Polder Tulp Molen Gracht Oranje Dijk Kade Duin Wadden Zeeland Veluwe Linde "
    "Eiken Haven Brug Lelie Kroon Vlinder Zilver Gouden"
).split()
NL_SUFFIX = (
    "Techniek Logistiek Bouw Advies Installaties Groothandel Media Vastgoed Software Catering Design Zorg "
    "Transport Print Energie Interieur"
).split()

PO_PRODUCTS = (
    "Kontorstol ergonomisk",
    "Skrivebord hev/senk",
    "Hyllesystem stål",
    "Arbeidslampe LED",
    "Verktøykasse",
    "Borhammer",
    "Stige aluminium",
    "Vernehansker",
    "Vernehjelm",
    "Arbeidsjakke",
    "Kabeltrommel",
    "LED-panel",
    "Skruesett",
    "Målebånd",
    "Vinkelsliper",
    "Høytrykksspyler",
    "Kaffetrakter",
    "Whiteboard",
    "Arkivskap",
    "Trillebår",
)
PO_VARIANTS = ("Basic", "Pro", "XL", "Compact", "Premium", "600 mm", "1200 mm", "18 V")
PO_SERVICES = ("Konsulenttime", "Montering", "Serviceavtale", "Opplæring", "Prosjektledelse", "Befaring")
WS_PRODUCTS = (
    "Bureaustoel",
    "Zit-sta bureau",
    "Monitorarm",
    "Bureaulamp",
    "Archiefkast",
    "Koffiebonen 1 kg",
    "Printpapier A4",
    "Whiteboard",
    "Ordner",
    "Headset",
    "Toetsenbord",
    "Muis draadloos",
    "Kabelgoot",
    "Voetensteun",
    "Vergadertafel",
    "Kapstok",
)
WS_VARIANTS = ("zwart", "wit", "grijs", "eiken", "compact", "XL", "pro", "set van 5")
CRM_PRODUCTS = (
    ("Licentie Basis", "jaar"),
    ("Licentie Pro", "jaar"),
    ("Licentie Enterprise", "jaar"),
    ("Implementatie", "uur"),
    ("Training", "dag"),
    ("Support", "uur"),
    ("Hosting", "maand"),
    ("Koppeling maatwerk", "stuk"),
    ("Onderhoudscontract", "jaar"),
    ("Datamigratie", "uur"),
)
CRM_MODULES = ("Financieel", "Logistiek", "HRM", "Projecten", "CRM", "Webshop", "Rapportage", "Portaal")
ERP_PROJECTS = (
    "Rehabilitering {street}",
    "Nybygg kontor {city}",
    "Bad og våtrom {last}",
    "Tilbygg {city}",
    "Fasadeoppgradering {street}",
    "Tak og membran {city}",
    "Ombygging lager {city}",
    "Energioppgradering {street}",
)
MANAGERS = ("Kari Nordmann", "Per Hansen", "Ingrid Berg", "Lars Olsen", "Marit Dahl", "Jon Lie", "Silje Moen")


# ------------------------------------------------------------------------------------------------ the model


@dataclass
class Link:
    flow: str
    mapping: str
    source_id: str
    target_id: str
    shadow: dict[str, Any]


@dataclass
class Scene:
    """One scenario row of the README."""

    flow: str
    mapping: str
    part: str
    source_id: str
    target_id: str
    first: str
    second: str


@dataclass(frozen=True)
class Prop:
    source: str | None
    target: str
    ref: str | None
    value: str | None


@dataclass(frozen=True)
class MappingSpec:
    name: str
    source: str
    target: str
    props: tuple[Prop, ...]


@dataclass(frozen=True)
class FlowSpec:
    name: str
    source: str
    target: str
    mappings: dict[str, MappingSpec]


@dataclass(frozen=True)
class EntitySpec:
    key: str
    modified: str | None
    fields: dict[str, str]


def _load_catalogues() -> dict[str, dict[str, EntitySpec]]:
    out: dict[str, dict[str, EntitySpec]] = {}
    for system, path in CATALOGUE_FILES.items():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        out[system] = {
            name: EntitySpec(
                key=raw["key"],
                modified=raw.get("modified"),
                fields={f: str(spec.get("type", "string")) for f, spec in raw.get("fields", {}).items()},
            )
            for name, raw in data["entities"].items()
        }
    return out


def _load_flows(catalogues: dict[str, dict[str, EntitySpec]]) -> dict[str, FlowSpec]:
    out: dict[str, FlowSpec] = {}
    for name in FLOW_FILES:
        data = tomllib.loads((FLOW_DIR / f"{name}.toml").read_text(encoding="utf-8"))
        mappings: dict[str, MappingSpec] = {}
        for raw in data["mapping"]:
            props = tuple(
                Prop(p.get("source"), p["target"], p.get("ref"), p.get("value")) for p in raw.get("properties", [])
            )
            source = _entity_name(catalogues[data["source"]], raw["source"])
            target = _entity_name(catalogues[data["target"]], raw["target"])
            mappings[raw["name"]] = MappingSpec(raw["name"], source, target, props)
        out[name] = FlowSpec(name, data["source"], data["target"], mappings)
    return out


def _entity_name(catalogue: dict[str, EntitySpec], name: str) -> str:
    folded = {n.casefold(): n for n in catalogue}
    return folded[name.casefold()]


class World:
    """Every system's records, the links between them and the scenario, as they are built up."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.catalogues = _load_catalogues()
        self.flows = _load_flows(self.catalogues)
        self.records: dict[tuple[str, str], dict[str, Record]] = {}
        self.links: list[Link] = []
        self.linked: dict[tuple[str, str, str], Link] = {}
        self.scenes: list[Scene] = []
        self.counters: dict[str, int] = {}

    # -- ids, values -----------------------------------------------------------------------------------

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def seq(self, name: str, start: int) -> int:
        value = self.counters.get(name, start)
        self.counters[name] = value + 1
        return value

    def pick(self, options: tuple[Any, ...] | list[Any]) -> Any:
        return options[self.rng.randrange(len(options))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def day_between(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randrange((end - start).days + 1))

    def before_sync(self, start: date = date(2023, 1, 2)) -> datetime:
        """A working-hours moment between ``start`` and the day before the last sync."""
        day = self.day_between(start, (LAST_SYNC - timedelta(days=1)).date())
        return datetime(day.year, day.month, day.day, 7, 0, tzinfo=UTC) + timedelta(
            minutes=self.rng.randrange(10 * 60)
        )

    def stamp(self, system: str, entity: str, when: datetime) -> str:
        if system == "poweroffice":
            if self.spec(system, entity).modified == "lastChanged":
                return when.strftime("%Y-%m-%dT%H:%M:%S") + " +00:00"
            return when.strftime("%Y-%m-%dT%H:%M:%S") + ".0000000+00:00"
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- records ---------------------------------------------------------------------------------------

    def spec(self, system: str, entity: str) -> EntitySpec:
        return self.catalogues[system][entity]

    def table(self, system: str, entity: str) -> dict[str, Record]:
        return self.records.setdefault((system, entity), {})

    def add(self, system: str, entity: str, record: Record) -> Record:
        spec = self.spec(system, entity)
        unknown = set(record) - set(spec.fields)
        if unknown:
            raise ValueError(f"{system} {entity}: fields the catalogue does not know: {sorted(unknown)}")
        key = str(record[spec.key])
        table = self.table(system, entity)
        if key in table:
            raise ValueError(f"{system} {entity}: id {key} twice")
        table[key] = record
        return record

    def get(self, system: str, entity: str, key: Any) -> Record:
        return self.table(system, entity)[str(key)]

    def key_of(self, system: str, entity: str, record: Record) -> str:
        return str(record[self.spec(system, entity).key])

    def edit(self, system: str, entity: str, key: Any, changes: Record, when: datetime) -> Record:
        record = self.get(system, entity, key)
        record.update(changes)
        modified = self.spec(system, entity).modified
        if modified is not None and modified in record:
            record[modified] = self.stamp(system, entity, when)
        return record

    def remove(self, system: str, entity: str, key: Any) -> Record:
        return self.table(system, entity).pop(str(key))

    # -- flows -----------------------------------------------------------------------------------------

    def project(self, flow: str, mapping: str, source: Record) -> Record:
        """The target fields a mapping fills from ``source``, as the target stores them."""
        f = self.flows[flow]
        m = f.mappings[mapping]
        t_spec = self.spec(f.target, m.target)
        out: Record = {}
        for p in m.props:
            if p.source is None:
                out[p.target] = int(p.value) if t_spec.fields[p.target] == "int" and p.value else p.value
                continue
            value = source.get(p.source)
            if p.ref is not None and value is not None:
                link = self.linked.get((flow, p.ref, str(value)))
                if link is None:
                    raise ValueError(f"{flow} {mapping}: {p.source} = {value} has no link in {p.ref}")
                out[p.target] = _as_type(link.target_id, t_spec.fields[p.target])
            else:
                out[p.target] = _as_type(value, t_spec.fields[p.target])
        return out

    def link(self, flow: str, mapping: str, source: Record, target: Record) -> Link:
        """Record that ``source`` and ``target`` were synced last night; they must agree on every property."""
        f = self.flows[flow]
        m = f.mappings[mapping]
        source_id = self.key_of(f.source, m.source, source)
        target_id = self.key_of(f.target, m.target, target)
        shadow: Record = {}
        expected = self.project(flow, mapping, source)
        for p in m.props:
            if p.source is None:
                continue
            if _canon(expected.get(p.target)) != _canon(target.get(p.target)):
                raise ValueError(
                    f"{flow} {mapping} {source_id} -> {target_id}: {p.target} differs: "
                    f"{expected.get(p.target)!r} / {target.get(p.target)!r}"
                )
            value = source.get(p.source)
            shadow[p.target] = str(value) if p.ref is not None and value is not None else target.get(p.target)
        link = Link(flow, mapping, source_id, target_id, shadow)
        self.links.append(link)
        self.linked[(flow, mapping, source_id)] = link
        return link

    def make(self, flow: str, mapping: str, source: Record, extra: Record) -> Record:
        """Create the target record last night's sync made from ``source``, and link the two."""
        f = self.flows[flow]
        m = f.mappings[mapping]
        target = {**extra, **self.project(flow, mapping, source)}
        self.add(f.target, m.target, target)
        self.link(flow, mapping, source, target)
        return target

    def target_of(self, flow: str, mapping: str, source_id: Any) -> str:
        return self.linked[(flow, mapping, str(source_id))].target_id

    def scene(
        self, flow: str, mapping: str, part: str, source_id: Any, target_id: Any, first: str, second: str
    ) -> None:
        self.scenes.append(
            Scene(flow, mapping, part, "" if source_id is None else str(source_id),
                  "" if target_id is None else str(target_id), first, second)
        )


def _as_type(value: Any, ftype: str) -> Any:
    if value is None:
        return None
    if ftype in ("string", "guid") and not isinstance(value, str):
        return str(value)
    if ftype == "float" and isinstance(value, int):
        return float(value)
    if ftype == "int" and isinstance(value, str):
        return int(value)
    return value


def _canon(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float):
        return repr(value)
    return str(value).strip()


# ------------------------------------------------------------------------------------------------ people


def no_org_number(w: World) -> str:
    """A Norwegian organisation number with a valid MOD11 check digit."""
    while True:
        digits = [w.pick((8, 9))] + [w.rng.randrange(10) for _ in range(7)]
        total = sum(d * wt for d, wt in zip(digits, (3, 2, 7, 6, 5, 4, 3, 2), strict=True))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            return "".join(map(str, digits)) + str(check)


def no_phone(w: World, mobile: bool = False) -> str:
    if mobile or w.chance(0.5):
        n = w.rng.randrange(90000000, 99999999) if w.chance(0.5) else w.rng.randrange(40000000, 49999999)
        s = str(n)
        return f"+47 {s[:3]} {s[3:5]} {s[5:]}"
    s = str(w.rng.randrange(21000000, 77999999))
    return f"+47 {s[:2]} {s[2:4]} {s[4:6]} {s[6:]}"


def nl_phone(w: World, area: str, mobile: bool = False) -> str:
    if mobile or w.chance(0.3):
        s = str(w.rng.randrange(10000000, 99999999))
        return f"+31 6 {s[:4]} {s[4:]}"
    digits = str(w.rng.randrange(10**8, 10**9))[: 9 - len(area)]
    return f"+31 {area} {digits[:3]} {digits[3:]}"


def slug(text: str) -> str:
    table = str.maketrans({"æ": "ae", "ø": "o", "å": "a", "Æ": "ae", "Ø": "o", "Å": "a", " ": "", ".": ""})
    return text.lower().translate(table).replace("-", "")


def no_address(w: World) -> tuple[str, str, str]:
    zipcode, city = w.pick(NO_PLACES)
    return f"{w.pick(NO_STREETS)} {w.rng.randrange(1, 120)}", zipcode, city


def nl_address(w: World) -> tuple[str, str, str, str]:
    prefix, city, area = w.pick(NL_PLACES)
    postcode = f"{int(prefix) + w.rng.randrange(0, 8)} {chr(65 + w.rng.randrange(26))}{chr(65 + w.rng.randrange(26))}"
    return f"{w.pick(NL_STREETS)} {w.rng.randrange(1, 300)}", postcode, city, area


def no_company(w: World, used: set[str]) -> str:
    while True:
        name = f"{w.pick(NO_PREFIX)} {w.pick(NO_SUFFIX)} AS"
        if name not in used:
            used.add(name)
            return name


def nl_company(w: World, used: set[str]) -> str:
    while True:
        name = (
            f"{w.pick(NL_PREFIX)} {w.pick(NL_SUFFIX)} B.V."
            if w.chance(0.7)
            else f"{w.pick(NL_LAST).split()[-1].capitalize()} {w.pick(NL_SUFFIX)} B.V."
        )
        if name not in used:
            used.add(name)
            return name


def no_person(w: World) -> tuple[str, str]:
    return w.pick(NO_FIRST), w.pick(NO_LAST)


def nl_person(w: World) -> tuple[str, str]:
    return w.pick(NL_FIRST), w.pick(NL_LAST)


def birth_date(w: World) -> str:
    return w.day_between(date(1958, 1, 1), date(2001, 12, 31)).isoformat()


def email_of(first: str, last: str, domain: str) -> str:
    return f"{slug(first)}.{slug(last)}@{domain}"


def money(w: World, low: float, high: float, step: float = 1.0) -> float:
    return round(round(w.rng.uniform(low, high) / step) * step, 2)
