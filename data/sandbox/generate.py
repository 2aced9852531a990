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
    "exact": ROOT / "src" / "reconcile" / "systems" / "exact" / "catalogue.toml",
    "poweroffice": ROOT / "src" / "reconcile" / "systems" / "poweroffice" / "catalogue.toml",
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


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(text.split(sep))


NO_FIRST = _words(
    "Ola Kari Per Anne Lars Ingrid Jon Marit Nils Hilde Erik Silje Knut Tone Bjørn Ragnhild Magnus Ingeborg "
    "Håkon Sigrid Anders Liv Eirik Astrid Sindre Marte Tor Solveig Even Tuva Henrik Nora Øystein Camilla "
    "Jørgen Maria Arne Ida Espen Kristin"
)
NO_LAST = _words(
    "Nordmann Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Johnsen "
    "Pettersen Eriksen Berg Haugen Hagen Johannessen Andreassen Jacobsen Dahl Jørgensen Halvorsen Henriksen "
    "Lund Sørensen Jakobsen Moen Gundersen Iversen Strand Solberg Svendsen Eide Knutsen Martinsen Paulsen "
    "Bakken Kristoffersen Mathisen Lie Amundsen Nygård Rønning Berntsen"
)
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
NO_PREFIX = _words(
    "Fjord Nord Vest Berg Lys Havbris Polar Skog Elv Tind Brygge Solsiden Nordkapp Vidde Fossen Snøhvit "
    "Kyst Lofot Bjørke Furu Granitt Midnatt Nordlys Trollheim Sjø Viking"
)
NO_SUFFIX = _words(
    "Bygg Elektro Rør Regnskap Maskin Transport Eiendom Data Consult Marin Trevare Mat Entreprenør Tak Maling "
    "Ventilasjon Anlegg Handel Media Logistikk"
)

NL_FIRST = _words(
    "Jan Sanne Pieter Emma Daan Lotte Bram Femke Thijs Anouk Ruben Fleur Joris Sophie Lars Eva Sander "
    "Iris Koen Julia Niels Marieke Wouter Noor Bas Lieke Tim Esther Jeroen Anne Maarten Roos Stijn Ilse"
)
NL_LAST = _words(
    "de Vries|Jansen|van den Berg|Bakker|Visser|Smit|Meijer|de Boer|Mulder|de Groot|Bos|Vos|Peters|"
    "Hendriks|van Leeuwen|Dekker|Brouwer|de Wit|Dijkstra|Smits|de Graaf|van der Meer|van der Linden|Kok|"
    "Jacobs|de Haan|Vermeulen|van den Heuvel|van der Veen|van den Broek|Schouten|Willems|van Dijk|Hoekstra",
    "|",
)
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
NL_PREFIX = _words(
    "Noord Zuid Holland Delta Polder Tulp Molen Gracht Oranje Dijk Kade Duin Wadden Zeeland Veluwe Linde "
    "Eiken Haven Brug Lelie Kroon Vlinder Zilver Gouden"
)
NL_SUFFIX = _words(
    "Techniek Logistiek Bouw Advies Installaties Groothandel Media Vastgoed Software Catering Design Zorg "
    "Transport Print Energie Interieur"
)

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
        self.names: set[str] = set()
        self.org_numbers: set[str] = set()

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
        return datetime(day.year, day.month, day.day, 7, 0, tzinfo=UTC) + timedelta(minutes=self.rng.randrange(10 * 60))

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
        ordered = {name: record[name] for name in spec.fields if name in record}
        record.clear()
        record.update(ordered)  # the catalogue's field order, whatever order the record was built in
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
            Scene(
                flow,
                mapping,
                part,
                "" if source_id is None else str(source_id),
                "" if target_id is None else str(target_id),
                first,
                second,
            )
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
        number = "".join(map(str, digits)) + str(check)
        if check != 10 and number not in w.org_numbers:
            w.org_numbers.add(number)
            return number


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
        prefix, suffix = w.pick(NO_PREFIX), w.pick(NO_SUFFIX)
        name = str(w.pick((f"{prefix} {suffix} AS", f"{prefix}{suffix.lower()} AS", f"{w.pick(NO_LAST)} {suffix} AS")))
        if name not in used:
            used.add(name)
            return name


def nl_company(w: World, used: set[str]) -> str:
    while True:
        prefix, suffix, last = w.pick(NL_PREFIX), w.pick(NL_SUFFIX), w.pick(NL_LAST).split()[-1].capitalize()
        name = str(w.pick((f"{prefix} {suffix} B.V.", f"{prefix}{suffix.lower()} B.V.", f"{last} {suffix} B.V.")))
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
    return float(round(round(w.rng.uniform(low, high) / step) * step, 2))


def parse_stamp(text: str) -> datetime:
    return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def night_after(w: World, when: datetime) -> datetime:
    """The nightly run after ``when``: the moment a change made then reached the other side."""
    night = datetime(when.year, when.month, when.day, 1, 0, tzinfo=UTC) + timedelta(days=1, minutes=w.rng.randrange(25))
    return min(night, LAST_SYNC - timedelta(minutes=5))


def at(hour: int, minute: int) -> datetime:
    """A moment of the day after the last sync."""
    return DAY + timedelta(hours=hour, minutes=minute)


def synced_stamps(w: World, system: str, entity: str, source_modified: str) -> Record:
    """Created / Modified of a target record the nightly sync created from a source record."""
    night = w.stamp(system, entity, night_after(w, parse_stamp(source_modified)))
    spec = w.spec(system, entity)
    out: Record = {}
    for name in ("Created", "created_at", "createdAt", "CreatedAt"):
        if name in spec.fields:
            out[name] = night
    if spec.modified is not None:
        out[spec.modified] = night
    return out


# ------------------------------------------------------------------------------------------------ PowerOffice

PO = "poweroffice"
PO_DEPARTMENTS = (
    ("10", "Salg"),
    ("20", "Service"),
    ("30", "Administrasjon"),
    ("40", "Lager"),
    ("50", "Prosjekt"),
    ("60", "Innkjøp"),
    ("70", "Marked"),
    ("80", "IT"),
)
PO_UNITS = ("EA", "EA", "EA", "EA", "BX", "MTR", "KGM", "LTR")


def po_contact_id(w: World) -> int:
    return w.seq("po-contact", 18400001)


def po_customer(w: World, names: set[str], when: datetime) -> Record:
    name = no_company(w, names)
    street, zipcode, city = no_address(w)
    domain = slug(name.removesuffix(" AS")) + ".no"
    stamp = w.stamp(PO, "Customers", when)
    return {
        "Id": po_contact_id(w),
        "Number": w.seq("po-customer-no", 10001),
        "Name": name,
        "IsPerson": False,
        "LegalName": name,
        "OrganizationNumber": no_org_number(w),
        "EmailAddress": f"post@{domain}",
        "PhoneNumber": no_phone(w),
        "WebsiteUrl": f"https://www.{domain}" if w.chance(0.8) else None,
        "MailAddress.AddressLine1": street,
        "MailAddress.AddressLine2": w.pick(("2. etasje", "Inngang B", "Postboks 120")) if w.chance(0.12) else None,
        "MailAddress.ZipCode": zipcode,
        "MailAddress.City": city,
        "MailAddress.CountryCode": "NO",
        "CurrencyCode": "NOK",
        "IsArchived": False,
        "ContactCreatedDateTimeOffset": stamp,
        "CustomerCreatedDateTimeOffset": stamp,
        "LastChangedDateTimeOffset": stamp,
    }


def po_person(w: World, entity: str, when: datetime) -> Record:
    first, last = no_person(w)
    street, zipcode, city = no_address(w)
    stamp = w.stamp(PO, entity, when)
    record: Record = {
        "Id": po_contact_id(w),
        "Number": w.seq(
            "po-customer-no" if entity.startswith("Customers") else "po-supplier-no",
            10001 if entity.startswith("Customers") else 20001,
        ),
        "Name": f"{first} {last}",
        "IsPerson": True,
        "FirstName": first,
        "LastName": last,
        "DateOfBirth": birth_date(w),
        "EmailAddress": email_of(first, last, w.pick(("gmail.com", "online.no", "hotmail.com", "outlook.com"))),
        "PhoneNumber": no_phone(w, mobile=True),
        "MailAddress.AddressLine1": street,
        "MailAddress.ZipCode": zipcode,
        "MailAddress.City": city,
        "MailAddress.CountryCode": "NO",
        "CurrencyCode": "NOK",
        "IsArchived": False,
        "ContactCreatedDateTimeOffset": stamp,
        "LastChangedDateTimeOffset": stamp,
    }
    record["CustomerCreatedDateTimeOffset" if entity.startswith("Customers") else "SupplierCreatedDateTimeOffset"] = (
        stamp
    )
    return record


def po_contact_person(w: World, customer: Record, when: datetime) -> Record:
    first, last = no_person(w)
    domain = customer["EmailAddress"].split("@")[1]
    return {
        "id": po_contact_id(w),
        "partyId": customer["Id"],
        "firstName": first,
        "lastName": last,
        "emailAddress": email_of(first, last, domain),
        "phoneNumber": no_phone(w, mobile=True),
        # a contact person's address is the customer's: Exact derives a contact's city from its account
        "address1": customer["MailAddress.AddressLine1"],
        "address2": None,
        "city": customer["MailAddress.City"],
        "zipCode": customer["MailAddress.ZipCode"],
        "residenceCountryCode": customer["MailAddress.CountryCode"],
        "dateOfBirth": birth_date(w) if w.chance(0.6) else None,
        "isActive": True,
        "lastChanged": w.stamp(PO, "Contactperson", when),
    }


def po_product(w: World, when: datetime) -> Record:
    service = w.chance(0.15)
    number = w.seq("po-product", 5001)
    if service:
        name = f"{w.pick(PO_SERVICES)} {w.pick(('standard', 'senior', 'junior', 'helg', 'kveld'))}"
        unit, price = "HUR", money(w, 850, 1650, 50)
    else:
        name = f"{w.pick(PO_PRODUCTS)} {w.pick(PO_VARIANTS)}"
        unit, price = w.pick(PO_UNITS), money(w, 49, 12900, 1)
    stamp = w.stamp(PO, "Product", when)
    return {
        "Id": number,
        "Code": f"NO-{number}",
        "Name": name,
        "Description": None,
        "ProductType": "Service" if service else "Product",
        "UnitOfMeasureCode": unit,
        "UnitPrice": price,
        "UnitCost": round(price * w.rng.uniform(0.45, 0.7), 2),
        "IsArchived": False,
        "IsStockItem": not service,
        "CreatedDateTimeOffset": stamp,
        "LastChangedDateTimeOffset": stamp,
    }


def po_order(w: World, customer: Record, products: list[Record], when: datetime, lines: int) -> list[Record]:
    """A sales order and its lines (the order first)."""
    order_id = w.guid()
    stamp = w.stamp(PO, "SalesOrders", when)
    order: Record = {
        "Id": order_id,
        "SalesOrderNo": w.seq("po-order-no", 10001),
        "SalesOrderStatus": "Confirmed" if w.chance(0.6) else "Draft",
        "SalesOrderDate": when.date().isoformat(),
        "DeliveryDate": (when.date() + timedelta(days=w.rng.randrange(3, 30))).isoformat(),
        "CurrencyCode": customer["CurrencyCode"],
        "CurrencyExchangeRate": 1.0,
        "CustomerId": customer["Id"],
        "CustomerReference": f"{w.pick(NO_FIRST)} {w.pick(NO_LAST)}" if w.chance(0.5) else None,
        "CreatedDateTimeOffset": stamp,
        "LastChangedDateTimeOffset": stamp,
    }
    out = [order]
    for i, product in enumerate(w.rng.sample(products, lines)):
        out.append(po_line(w, order_id, product, i))
    return out


def po_line(w: World, order_id: str, product: Record, sort: int) -> Record:
    return {
        "Id": w.guid(),
        "sesam_SalesOrderId": order_id,
        "SortOrder": sort,
        "LineType": "Normal",
        "ProductId": product["Id"],
        "Description": product["Name"],
        "Quantity": float(w.rng.randrange(1, 25)),
        "ProductUnitPrice": product["UnitPrice"],
        "ProductUnitCost": product["UnitCost"],
        "UnitOfMeasureCode": product["UnitOfMeasureCode"],
    }


def add_po_order(w: World, rows: list[Record]) -> None:
    w.add(PO, "SalesOrders", rows[0])
    for line in rows[1:]:
        w.add(PO, "SalesOrderLines", line)


def build_poweroffice(w: World) -> None:
    for i, (code, name) in enumerate(PO_DEPARTMENTS):
        stamp = w.stamp(PO, "Departments", w.before_sync(date(2021, 1, 4)))
        w.add(
            PO,
            "Departments",
            {
                "Id": 101 + i,
                "Code": code,
                "Name": name,
                "IsActive": True,
                "CreatedDateTimeOffset": stamp,
                "LastChangedDateTimeOffset": stamp,
            },
        )
    for i, (code, name) in enumerate((("OSL", "Oslo"), ("BGO", "Bergen"), ("TRD", "Trondheim"), ("SVG", "Stavanger"))):
        w.add(PO, "Location", {"id": i + 1, "code": code, "name": name, "isActive": True})
    for code, notation, active in (
        ("NOK", "Norske kroner", True),
        ("EUR", "Euro", True),
        ("USD", "Amerikanske dollar", True),
        ("SEK", "Svenske kroner", True),
        ("DKK", "Danske kroner", True),
        ("GBP", "Britiske pund", False),
        ("PLN", "Polske zloty", True),
    ):
        w.add(PO, "Currency", {"code": code, "notation": notation, "isActive": active})
    for i, (code, name, description, rate) in enumerate(
        (
            ("0", "Ingen mva-behandling", "Ingen merverdiavgiftsbehandling", 0.0),
            ("1", "Inngående mva, høy sats", "Fradrag for inngående merverdiavgift, alminnelig sats", 0.25),
            ("3", "Utgående mva, høy sats", "Utgående merverdiavgift, alminnelig sats", 0.25),
            ("5", "Utgående mva, fritatt", "Innenlands omsetning fritatt for merverdiavgift", 0.0),
            ("6", "Utgående mva, unntatt", "Omsetning utenfor merverdiavgiftsloven", 0.0),
            ("11", "Inngående mva, middels sats", "Fradrag for inngående merverdiavgift, middels sats", 0.15),
            ("31", "Utgående mva, middels sats", "Utgående merverdiavgift, middels sats", 0.15),
            ("33", "Utgående mva, lav sats", "Utgående merverdiavgift, lav sats", 0.12),
        ),
        start=1,
    ):
        w.add(
            PO,
            "VatCodes",
            {
                "Id": i,
                "Code": code,
                "Name": name,
                "Description": description,
                "Rate": rate,
                "IsActive": True,
                "IsCustom": False,
                "ValidFrom": "2017-01-01",
            },
        )
    departments = list(w.table(PO, "Departments").values())
    for _ in range(20):
        first, last = no_person(w)
        street, zipcode, city = no_address(w)
        stamp = w.stamp(PO, "Employees", w.before_sync(date(2022, 1, 3)))
        w.add(
            PO,
            "Employees",
            {
                "Id": po_contact_id(w),
                "Number": w.seq("po-employee-no", 1),
                "FirstName": first,
                "LastName": last,
                "DateOfBirth": birth_date(w),
                "EmailAddress": email_of(first, last, "nordlyshandel.no"),
                "PhoneNumber": no_phone(w, mobile=True),
                "MailAddress.AddressLine1": street,
                "MailAddress.ZipCode": zipcode,
                "MailAddress.City": city,
                "MailAddress.CountryCode": "NO",
                "JobTitle": w.pick(
                    (
                        "Selger",
                        "Servicetekniker",
                        "Regnskapsfører",
                        "Lagermedarbeider",
                        "Prosjektleder",
                        "Innkjøper",
                        "Daglig leder",
                    )
                ),
                "Gender": w.pick(("Male", "Female")),
                "HiredDate": w.day_between(date(2012, 1, 2), date(2024, 9, 2)).isoformat(),
                "DepartmentId": w.pick(departments)["Id"],
                "IsArchived": False,
                "ContactCreatedDateTimeOffset": stamp,
                "EmployeeCreatedDateTimeOffset": stamp,
                "LastChangedDateTimeOffset": stamp,
            },
        )
    names = w.names
    for _ in range(230):
        w.add(PO, "Customers", po_customer(w, names, w.before_sync()))
    for _ in range(25):
        w.add(PO, "Customers person", po_person(w, "Customers person", w.before_sync()))
    for _ in range(25):
        supplier = po_customer(w, names, w.before_sync(date(2021, 6, 1)))
        supplier["Number"] = w.seq("po-supplier-no", 20001)
        stamp = supplier.pop("CustomerCreatedDateTimeOffset")
        supplier["SupplierCreatedDateTimeOffset"] = stamp
        supplier["Payout"] = True
        w.add(PO, "Suppliers", supplier)
    for _ in range(8):
        w.add(PO, "Suppliers person", po_person(w, "Suppliers person", w.before_sync()))
    customers = list(w.table(PO, "Customers").values())
    for customer in customers[:170]:
        for _ in range(w.pick((1, 1, 2))):
            since = parse_stamp(customer["LastChangedDateTimeOffset"]).date()
            w.add(PO, "Contactperson", po_contact_person(w, customer, w.before_sync(since)))
    for _ in range(180):
        w.add(PO, "Product", po_product(w, w.before_sync(date(2022, 3, 1))))
    products = list(w.table(PO, "Product").values())
    for _ in range(180):
        customer = w.pick(customers[:200])
        since = parse_stamp(customer["LastChangedDateTimeOffset"]).date()
        add_po_order(
            w, po_order(w, customer, products, w.before_sync(max(since, date(2024, 6, 3))), w.pick((1, 2, 2, 3, 4)))
        )
    for _ in range(25):
        customer = w.pick(customers)
        when = w.before_sync(date(2025, 1, 6))
        w.add(
            PO,
            "Quote",
            {
                "id": w.guid(),
                "quoteNo": w.seq("po-quote-no", 3001),
                "quoteDate": when.date().isoformat(),
                "expiryDate": (when.date() + timedelta(days=30)).isoformat(),
                "status": w.pick(("Draft", "Sent", "Accepted")),
                "customerCode": customer["Number"],
                "customerEmail": customer["EmailAddress"],
                "currencyCode": "NOK",
                "currencyExchangeRate": 1.0,
                "netAmount": money(w, 2000, 250000, 10),
                "createdDate": w.stamp(PO, "Quote", when),
                "lastChanged": w.stamp(PO, "Quote", when),
            },
        )


# ------------------------------------------------------------------------------------------------ Exact

EX = "exact"
EX_DEPARTMENTS = (
    ("10", "Verkoop"),
    ("20", "Service"),
    ("30", "Administratie"),
    ("50", "Projecten"),
    ("60", "Inkoop"),
    ("80", "ICT"),
    ("95", "Directie"),
)


def ex_stamps(w: World, entity: str, when: datetime) -> Record:
    stamp = w.stamp(EX, entity, when)
    out: Record = {"Created": stamp, "Modified": stamp}
    if "Division" in w.spec(EX, entity).fields:
        out["Division"] = DIVISION
    return out


def ex_account_code(w: World) -> str:
    return str(w.seq("exact-account-code", 1001))


def ex_plain_account(w: World, when: datetime) -> Record:
    name = nl_company(w, w.names)
    street, postcode, city, area = nl_address(w)
    domain = slug(name.removesuffix(" B.V.")) + ".nl"
    return {
        "ID": w.guid(),
        "Code": ex_account_code(w),
        "Name": name,
        "AddressLine1": street,
        "City": city,
        "Postcode": postcode,
        "Country": "NL",
        "Phone": nl_phone(w, area),
        "Email": f"info@{domain}",
        "Website": f"https://www.{domain}" if w.chance(0.7) else None,
        "Status": w.pick(("C", "C", "P", "S")),
        "IsSales": True,
        "IsSupplier": w.chance(0.1),
        "Blocked": False,
        "Type": "A",
        "ChamberOfCommerce": str(w.rng.randrange(10000000, 99999999)),
        "VATNumber": f"NL{w.rng.randrange(100000000, 999999999)}B01",
        **ex_stamps(w, "Accounts", when),
    }


def build_exact(w: World) -> None:
    w.add(
        EX,
        "Divisions",
        {
            "Code": DIVISION,
            "Description": "Nordlys Nederland B.V.",
            "HID": 1,
            "Main": True,
            "Currency": "EUR",
            "Country": "NL",
            "Status": 1,
            "Created": "2019-03-01T09:00:00Z",
            "Modified": "2024-01-15T10:12:00Z",
        },
    )
    w.add(
        EX,
        "Divisions",
        {
            "Code": DIVISION + 1,
            "Description": "Nordlys Logistiek B.V.",
            "HID": 2,
            "Main": False,
            "Currency": "EUR",
            "Country": "NL",
            "Status": 1,
            "Created": "2021-05-03T09:00:00Z",
            "Modified": "2024-02-01T08:30:00Z",
        },
    )
    w.add(
        EX,
        "Divisions",
        {
            "Code": DIVISION + 2,
            "Description": "Nordlys Archief 2018",
            "HID": 3,
            "Main": False,
            "Currency": "EUR",
            "Country": "NL",
            "Status": 2,
            "Created": "2018-01-02T09:00:00Z",
            "Modified": "2021-01-04T11:00:00Z",
        },
    )
    for code, description in EX_DEPARTMENTS:
        w.add(
            EX,
            "Departments",
            {
                "ID": w.guid(),
                "Code": code,
                "Description": description,
                "Costcenter": code,
                "CostcenterDescription": description,
                **ex_stamps(w, "Departments", w.before_sync(date(2019, 3, 1))),
            },
        )
    for code, description, precision in (
        ("EUR", "Euro", 0.01),
        ("USD", "Amerikaanse dollar", 0.01),
        ("NOK", "Noorse kroon", 0.01),
        ("SEK", "Zweedse kroon", 0.01),
        ("DKK", "Deense kroon", 0.01),
        ("CHF", "Zwitserse frank", 0.01),
    ):
        w.add(
            EX,
            "Currencies",
            {
                "Code": code,
                "Description": description,
                "AmountPrecision": precision,
                "PricePrecision": 0.0001,
                "Created": "2019-03-01T09:00:00Z",
                "Modified": "2019-03-01T09:00:00Z",
            },
        )
    for code, description in (
        ("EA", "Stuk"),
        ("BX", "Doos"),
        ("MTR", "Meter"),
        ("KGM", "Kilogram"),
        ("LTR", "Liter"),
        ("HUR", "Uur"),
        ("DAY", "Dag"),
        ("MON", "Maand"),
        ("ANN", "Jaar"),
    ):
        w.add(
            EX,
            "Units",
            {
                "ID": w.guid(),
                "Code": code,
                "Description": description,
                "Active": True,
                "Main": 0,
                "Type": "T" if code in ("HUR", "DAY", "MON", "ANN") else "O",
                "Division": DIVISION,
            },
        )
    for code, description, percentage, vtype in (
        ("H", "BTW hoog 21%", 0.21, "B"),
        ("L", "BTW laag 9%", 0.09, "B"),
        ("N", "Geen BTW", 0.0, "N"),
        ("VL", "BTW verlegd", 0.0, "B"),
        ("IC", "Intracommunautaire levering", 0.0, "E"),
    ):
        w.add(
            EX,
            "VATCodes",
            {
                "ID": w.guid(),
                "Code": code,
                "Description": description,
                "Percentage": percentage,
                "Type": vtype,
                "VATTransactionType": "S",
                "IsBlocked": False,
                **ex_stamps(w, "VATCodes", w.before_sync(date(2019, 3, 1))),
            },
        )
    for _ in range(15):
        first, last = nl_person(w)
        _, postcode, city, area = nl_address(w)
        w.add(
            EX,
            "Employees",
            {
                "ID": w.guid(),
                "Code": str(w.seq("exact-employee", 1)),
                "FirstName": first,
                "LastName": last,
                "FullName": f"{first} {last}",
                "BirthDate": birth_date(w),
                "Email": email_of(first, last, "nordlys.nl"),
                "BusinessEmail": email_of(first, last, "nordlys.nl"),
                "BusinessPhone": nl_phone(w, area),
                "Mobile": nl_phone(w, area, mobile=True),
                "City": city,
                "Postcode": postcode,
                "Country": "NL",
                "StartDate": w.day_between(date(2015, 1, 5), date(2024, 6, 3)).isoformat(),
                "IsActive": True,
                "HID": w.seq("exact-employee-hid", 1),
                **ex_stamps(w, "Employees", w.before_sync(date(2023, 1, 2))),
            },
        )
    for _ in range(60):
        account = w.add(EX, "Accounts", ex_plain_account(w, w.before_sync()))
        if w.chance(0.6):
            first, last = nl_person(w)
            w.add(
                EX,
                "Contacts",
                {
                    "ID": w.guid(),
                    "Account": account["ID"],
                    "Code": account["Code"],
                    "FirstName": first,
                    "LastName": last,
                    "FullName": f"{first} {last}",
                    "Email": email_of(first, last, account["Email"].split("@")[1]),
                    "BusinessEmail": email_of(first, last, account["Email"].split("@")[1]),
                    "Phone": account["Phone"],
                    "BusinessPhone": account["Phone"],
                    "City": account["City"],
                    "Country": "NL",
                    "Postcode": account["Postcode"],
                    "IsMainContact": True,
                    **ex_stamps(w, "Contacts", parse_stamp(account["Modified"])),
                },
            )
    for i in range(20):
        w.add(
            EX,
            "Items",
            {
                "ID": w.guid(),
                "Code": f"NL-{7001 + i}",
                "Description": f"{w.pick(WS_PRODUCTS)} {w.pick(WS_VARIANTS)}",
                "Unit": "EA",
                "IsSalesItem": True,
                "IsPurchaseItem": True,
                "IsStockItem": True,
                "CostPriceStandard": money(w, 5, 400, 0.5),
                "SalesVatCode": "H",
                **ex_stamps(w, "Items", w.before_sync(date(2020, 1, 6))),
            },
        )


# ------------------------------------------------------------------------------------------------ flow 1

F1 = "powerofficego-to-exact"


def ex_order_extra(w: World, entity: str, source_modified: str, number_seq: str) -> Record:
    extra = {
        "Division": DIVISION,
        **synced_stamps(w, EX, entity, source_modified),
    }
    if entity == "SalesOrders":
        extra |= {"OrderID": w.guid(), "OrderNumber": w.seq(number_seq, 40001), "Status": 12}
    else:
        extra |= {
            "QuotationID": w.guid(),
            "QuotationNumber": w.seq(number_seq, 60001),
            "VersionNumber": 1,
            "Status": 20,
        }
    return extra


def ex_line_extra(w: World, entity: str, number: int, description: str, quantity: float, price: float) -> Record:
    return {
        "ID": w.guid(),
        "LineNumber": number,
        "Description": description,
        "Quantity": quantity,
        "UnitPrice": price,
        "NetPrice": price,
        "AmountFC": round(quantity * price, 2),
        "Division": DIVISION,
    }


def link_po_order(w: World, order: Record) -> None:
    """Last night's Exact sales order and quotation of a PowerOffice order, with their lines."""
    lines = [r for r in w.table(PO, "SalesOrderLines").values() if r["sesam_SalesOrderId"] == order["Id"]]
    total = round(sum(r["Quantity"] * r["ProductUnitPrice"] for r in lines), 2)
    so = w.make(
        F1,
        "salesorders",
        order,
        {
            **ex_order_extra(w, "SalesOrders", order["LastChangedDateTimeOffset"], "exact-order-no"),
            "Description": f"PowerOffice ordre {order['SalesOrderNo']}",
            "YourRef": order.get("CustomerReference"),
            "DeliveryDate": order["DeliveryDate"],
            "AmountFC": total,
            "AmountDC": total,
        },
    )
    qu = w.make(
        F1,
        "salesorders-quotations",
        order,
        {
            **ex_order_extra(w, "Quotations", order["LastChangedDateTimeOffset"], "exact-quotation-no"),
            "Description": f"PowerOffice ordre {order['SalesOrderNo']}",
            "QuotationDate": order["SalesOrderDate"],
            "AmountFC": total,
            "AmountDC": total,
        },
    )
    for i, line in enumerate(lines, start=1):
        base = (line["Description"], line["Quantity"], line["ProductUnitPrice"])
        w.make(
            F1,
            "salesorderlines",
            line,
            {**ex_line_extra(w, "SalesOrderLines", i, *base), "OrderNumber": so["OrderNumber"]},
        )
        w.make(F1, "salesorderlines-quotationlines", line, ex_line_extra(w, "QuotationLines", i, *base))
    del qu


def link_flow1(w: World) -> None:
    ex_departments = {d["Code"]: d for d in w.table(EX, "Departments").values()}
    for dept in list(w.table(PO, "Departments").values()):
        w.make(
            F1,
            "departments-accounts",
            dept,
            {
                "ID": w.guid(),
                "Code": ex_account_code(w),
                "Status": "A",
                "IsSales": False,
                "Blocked": False,
                "Type": "A",
                "Division": DIVISION,
                **synced_stamps(w, EX, "Accounts", dept["LastChangedDateTimeOffset"]),
            },
        )
        if dept["Code"] in ex_departments:
            w.link(F1, "departments", dept, ex_departments[dept["Code"]])
    ex_currencies = w.table(EX, "Currencies")
    for currency in w.table(PO, "Currency").values():
        if currency["code"] in ex_currencies:
            w.link(F1, "currencies", currency, ex_currencies[currency["code"]])
    for vat in w.table(PO, "VatCodes").values():
        w.make(
            F1,
            "vatcodes",
            vat,
            {
                "ID": w.guid(),
                "Percentage": vat["Rate"],
                "Type": "B",
                "VATTransactionType": "S" if vat["Name"].startswith("Utgående") else "P",
                "IsBlocked": False,
                "Division": DIVISION,
                "Created": "2024-02-01T01:10:00Z",
                "Modified": "2024-02-01T01:10:00Z",
            },
        )
    for customer in w.table(PO, "Customers").values():
        w.make(
            F1,
            "customers-accounts",
            customer,
            {
                "ID": w.guid(),
                "Code": ex_account_code(w),
                "Email": customer["EmailAddress"],
                "Status": "C",
                "IsSales": True,
                "IsSupplier": False,
                "Blocked": False,
                "Type": "A",
                "Division": DIVISION,
                "VATNumber": f"NO{customer['OrganizationNumber']}MVA",
                **synced_stamps(w, EX, "Accounts", customer["LastChangedDateTimeOffset"]),
            },
        )
    for person in w.table(PO, "Contactperson").values():
        account = w.get(EX, "Accounts", w.target_of(F1, "customers-accounts", person["partyId"]))
        w.make(
            F1,
            "contactperson-contacts",
            person,
            {
                "ID": w.guid(),
                "Code": account["Code"],
                "FullName": f"{person['firstName']} {person['lastName']}",
                "BusinessEmail": person["emailAddress"],
                "BusinessPhone": person["phoneNumber"],
                "Postcode": person["zipCode"],
                "IsMainContact": False,
                "Division": DIVISION,
                **synced_stamps(w, EX, "Contacts", person["lastChanged"]),
            },
        )
        w.make(
            F1,
            "contactperson-addresses",
            person,
            {
                "ID": w.guid(),
                "Postcode": person["zipCode"],
                "Main": False,
                "Division": DIVISION,
                **synced_stamps(w, EX, "Addresses", person["lastChanged"]),
            },
        )
    for product in w.table(PO, "Product").values():
        w.make(
            F1,
            "products-items",
            product,
            {
                "ID": w.guid(),
                "Unit": product["UnitOfMeasureCode"],
                "IsSalesItem": True,
                "IsPurchaseItem": True,
                "IsStockItem": product["IsStockItem"],
                "CostPriceStandard": product["UnitCost"],
                "SalesVatCode": "3",
                "Division": DIVISION,
                **synced_stamps(w, EX, "Items", product["LastChangedDateTimeOffset"]),
            },
        )
    for order in list(w.table(PO, "SalesOrders").values()):
        link_po_order(w, order)


# ------------------------------------------------------------------------------------------------ webshop

WS = "webshop"
F3 = "custom-webshop-to-exact"


def ws_customer(w: World, when: datetime, business: bool = True) -> Record:
    first, last = nl_person(w)
    street, postcode, city, area = nl_address(w)
    company = nl_company(w, w.names) if business else None
    domain = slug(company.removesuffix(" B.V.")) + ".nl" if company else w.pick(("gmail.com", "ziggo.nl", "kpnmail.nl"))
    stamp = w.stamp(WS, "Customer", when)
    return {
        "id": w.seq("ws-customer", 1001),
        "email": email_of(first, last, domain),
        "first_name": first,
        "last_name": last,
        "company_name": company,
        "vat_number": f"NL{w.rng.randrange(100000000, 999999999)}B01" if company and w.chance(0.8) else None,
        "phone": nl_phone(w, area),
        "address_line1": street,
        "address_line2": None,
        "postcode": postcode,
        "city": city,
        "country": "NL" if w.chance(0.92) else "BE",
        "newsletter": w.chance(0.4),
        "created_at": stamp,
        "updated_at": stamp,
    }


def ws_product(w: World, when: datetime) -> Record:
    number = w.seq("ws-product", 201)
    price = money(w, 2.5, 899, 0.05)
    name = f"{w.pick(WS_PRODUCTS)} {w.pick(WS_VARIANTS)}"
    stamp = w.stamp(WS, "Product", when)
    sku = f"KNT-{number + 1000}"
    return {
        "id": number,
        "sku": sku,
        "name": name,
        "description": f"{name}, geschikt voor kantoor en thuiswerkplek.",
        "price": price,
        "cost_price": round(price * w.rng.uniform(0.4, 0.65), 2),
        "currency": "EUR",
        "vat_rate": 21.0 if not name.startswith("Koffie") else 9.0,
        "unit": "stuk",
        "stock": w.rng.randrange(0, 400),
        "active": True,
        "url": f"https://www.tulpkantoor.nl/p/{sku.lower()}",
        "created_at": stamp,
        "updated_at": stamp,
    }


def ws_order(w: World, customer: Record, products: list[Record], when: datetime, lines: int) -> list[Record]:
    order_id = w.seq("ws-order", 50001)
    stamp = w.stamp(WS, "Order", when)
    rows: list[Record] = []
    subtotal = 0.0
    for product in w.rng.sample(products, lines):
        quantity = float(w.rng.randrange(1, 12))
        subtotal += quantity * product["price"]
        rows.append(
            {
                "id": w.seq("ws-line", 900001),
                "order_id": order_id,
                "product_id": product["id"],
                "sku": product["sku"],
                "description": product["name"],
                "quantity": quantity,
                "unit_price": product["price"],
                "line_total": round(quantity * product["price"], 2),
                "updated_at": stamp,
            }
        )
    shipping = 0.0 if subtotal > 75 else 6.95
    order = {
        "id": order_id,
        "order_number": f"WS-{when.year}-{order_id - 40000:06d}",
        "customer_id": customer["id"],
        "order_date": when.date().isoformat(),
        "status": w.pick(("paid", "shipped", "completed", "completed")),
        "currency": "EUR",
        "subtotal": round(subtotal, 2),
        "shipping": shipping,
        "total": round((subtotal + shipping) * 1.21, 2),
        "payment_method": w.pick(("ideal", "ideal", "creditcard", "invoice")),
        "note": w.pick(("Graag leveren bij de receptie", "Achterom leveren", None, None, None, None)),
        "created_at": stamp,
        "updated_at": stamp,
    }
    return [order, *rows]


def add_ws_order(w: World, rows: list[Record]) -> None:
    w.add(WS, "Order", rows[0])
    for line in rows[1:]:
        w.add(WS, "OrderLine", line)


def build_webshop(w: World) -> None:
    for i in range(240):
        w.add(WS, "Customer", ws_customer(w, w.before_sync(date(2022, 2, 1)), business=i % 48 != 7))
    for _ in range(150):
        w.add(WS, "Product", ws_product(w, w.before_sync(date(2022, 1, 3))))
    business = [c for c in w.table(WS, "Customer").values() if c["company_name"]]
    products = list(w.table(WS, "Product").values())
    for _ in range(220):
        customer = w.pick(business)
        since = parse_stamp(customer["updated_at"]).date()
        add_ws_order(
            w, ws_order(w, customer, products, w.before_sync(max(since, date(2024, 9, 2))), w.pick((1, 1, 2, 3)))
        )


def ws_account_extra(w: World, customer: Record) -> Record:
    return {
        "ID": w.guid(),
        "Code": ex_account_code(w),
        "Status": "C",
        "IsSales": True,
        "IsSupplier": False,
        "Blocked": False,
        "Type": "A",
        "Division": DIVISION,
        **synced_stamps(w, EX, "Accounts", customer["updated_at"]),
    }


def link_ws_order(w: World, order: Record) -> None:
    lines = [r for r in w.table(WS, "OrderLine").values() if r["order_id"] == order["id"]]
    so = w.make(
        F3,
        "orders-salesorders",
        order,
        {
            **ex_order_extra(w, "SalesOrders", order["updated_at"], "exact-order-no"),
            "Description": f"Webshop {order['order_number']}",
            "AmountFC": order["subtotal"],
            "AmountDC": order["subtotal"],
            "Status": 21 if order["status"] == "completed" else 12,
        },
    )
    w.make(
        F3,
        "orders-quotations",
        order,
        {
            **ex_order_extra(w, "Quotations", order["updated_at"], "exact-quotation-no"),
            "Description": f"Webshop {order['order_number']}",
            "AmountFC": order["subtotal"],
            "AmountDC": order["subtotal"],
            "Status": 50,
        },
    )
    for i, line in enumerate(lines, start=1):
        extra = {
            "ID": w.guid(),
            "LineNumber": i,
            "NetPrice": line["unit_price"],
            "AmountFC": line["line_total"],
            "Division": DIVISION,
        }
        w.make(F3, "orderlines-salesorderlines", line, {**extra, "OrderNumber": so["OrderNumber"]})
        w.make(F3, "orderlines-quotationlines", line, {**extra, "ID": w.guid()})


def link_flow3(w: World) -> None:
    for customer in w.table(WS, "Customer").values():
        if customer["company_name"]:
            w.make(F3, "customers", customer, ws_account_extra(w, customer))
    for product in w.table(WS, "Product").values():
        w.make(
            F3,
            "products",
            product,
            {
                "ID": w.guid(),
                "Unit": "EA",
                "IsSalesItem": True,
                "IsPurchaseItem": True,
                "IsStockItem": True,
                "SalesVatCode": "H" if product["vat_rate"] == 21.0 else "L",
                "Division": DIVISION,
                **synced_stamps(w, EX, "Items", product["updated_at"]),
            },
        )
    for order in list(w.table(WS, "Order").values()):
        link_ws_order(w, order)


# ------------------------------------------------------------------------------------------------ CRM

CRM = "crm"
F4 = "customcrm-to-exact"
CRM_UNITS = {"jaar": "ANN", "uur": "HUR", "dag": "DAY", "maand": "MON", "stuk": "EA"}


def crm_customer(w: World, owners: list[Record], when: datetime) -> Record:
    name = nl_company(w, w.names)
    street, postcode, city, area = nl_address(w)
    domain = slug(name.removesuffix(" B.V.")) + ".nl"
    stamp = w.stamp(CRM, "Customer", when)
    return {
        "id": w.guid(),
        "name": name,
        "accountNumber": f"K{w.seq('crm-account', 20001)}",
        "kvkNumber": str(w.rng.randrange(10000000, 99999999)),
        "vatNumber": f"NL{w.rng.randrange(100000000, 999999999)}B01",
        "email": f"info@{domain}",
        "phone": nl_phone(w, area),
        "website": f"https://www.{domain}",
        "street": street,
        "postalCode": postcode,
        "city": city,
        "country": "NL",
        "industry": w.pick(("Bouw", "Groothandel", "Zorg", "Logistiek", "Onderwijs", "ICT", "Horeca", "Overheid")),
        "ownerId": w.pick(owners)["id"],
        "createdAt": stamp,
        "modifiedAt": stamp,
    }


def crm_contact(w: World, customer: Record, when: datetime) -> Record:
    first, last = nl_person(w)
    _, _, _, area = nl_address(w)
    stamp = w.stamp(CRM, "Contact", when)
    return {
        "id": w.guid(),
        "customerId": customer["id"],
        "firstName": first,
        "lastName": last,
        "email": email_of(first, last, customer["email"].split("@")[1]),
        "phone": customer["phone"],
        "mobile": nl_phone(w, area, mobile=True),
        "jobTitle": w.pick(
            (
                "Inkoper",
                "Directeur",
                "Office manager",
                "Controller",
                "Projectleider",
                "IT-manager",
                "Hoofd administratie",
            )
        ),
        "birthDate": birth_date(w) if w.chance(0.4) else None,
        "ownerId": customer["ownerId"],
        "createdAt": stamp,
        "modifiedAt": stamp,
    }


def crm_deal(w: World, entity: str, customer: Record, products: list[Record], when: datetime) -> Record:
    product = w.pick(products)
    quantity = float(w.pick((1, 1, 1, 2, 5, 8, 10, 16, 24, 40)))
    stamp = w.stamp(CRM, entity, when)
    day = when.date()
    record: Record = {
        "id": w.guid(),
        "customerId": customer["id"],
        "productId": product["id"],
        "quantity": quantity,
        "unitPrice": product["listPrice"],
        "amount": round(quantity * product["listPrice"], 2),
        "currency": "EUR",
        "description": product["name"],
        "ownerId": customer["ownerId"],
        "createdAt": stamp,
        "modifiedAt": stamp,
    }
    if entity == "Order":
        record |= {
            "orderNumber": f"ORD-{w.seq('crm-order', 24001)}",
            "orderDate": day.isoformat(),
            "deliveryDate": (day + timedelta(days=w.rng.randrange(7, 45))).isoformat(),
            "status": w.pick(("confirmed", "delivered", "delivered")),
        }
    else:
        record |= {
            "quoteNumber": f"OFF-{w.seq('crm-quote', 8001)}",
            "quoteDate": day.isoformat(),
            "validUntil": (day + timedelta(days=30)).isoformat(),
            "status": w.pick(("sent", "accepted", "sent", "rejected")),
        }
    return record


def build_crm(w: World) -> None:
    for _ in range(12):
        first, last = nl_person(w)
        _, _, _, area = nl_address(w)
        stamp = w.stamp(CRM, "User", w.before_sync(date(2021, 1, 4)))
        w.add(
            CRM,
            "User",
            {
                "id": w.guid(),
                "userName": f"{slug(first)}.{slug(last)}".replace(" ", ""),
                "firstName": first,
                "lastName": last,
                "email": email_of(first, last, "deltasoft.nl"),
                "phone": nl_phone(w, area, mobile=True),
                "role": w.pick(("sales", "sales", "manager")),
                "active": True,
                "createdAt": stamp,
                "modifiedAt": stamp,
            },
        )
    owners = list(w.table(CRM, "User").values())
    for _ in range(190):
        w.add(CRM, "Customer", crm_customer(w, owners, w.before_sync(date(2022, 1, 3))))
    customers = list(w.table(CRM, "Customer").values())
    for customer in customers:
        for _ in range(w.pick((1, 1, 2))):
            since = parse_stamp(customer["modifiedAt"]).date()
            w.add(CRM, "Contact", crm_contact(w, customer, w.before_sync(since)))
    names: set[str] = set()
    while len(names) < 72:
        (base, unit), module = w.pick(CRM_PRODUCTS), w.pick(CRM_MODULES)
        name = f"{base} {module} ({unit})"
        if name in names:
            continue
        names.add(name)
        price = {
            "jaar": money(w, 600, 9600, 50),
            "uur": money(w, 95, 145, 5),
            "dag": money(w, 850, 1250, 25),
            "maand": money(w, 49, 499, 1),
            "stuk": money(w, 1500, 12000, 100),
        }[unit]
        stamp = w.stamp(CRM, "Product", w.before_sync(date(2021, 3, 1)))
        w.add(
            CRM,
            "Product",
            {
                "id": w.guid(),
                "code": f"DS-{w.seq('crm-product', 3001)}",
                "name": name,
                "description": f"{base} voor de module {module}",
                "listPrice": price,
                "costPrice": round(price * 0.35, 2),
                "currency": "EUR",
                "unit": unit,
                "active": True,
                "createdAt": stamp,
                "modifiedAt": stamp,
            },
        )
    products = list(w.table(CRM, "Product").values())
    for entity, count in (("Order", 170), ("Quote", 130)):
        for _ in range(count):
            customer = w.pick(customers)
            since = parse_stamp(customer["modifiedAt"]).date()
            w.add(CRM, entity, crm_deal(w, entity, customer, products, w.before_sync(max(since, date(2024, 3, 4)))))


def link_crm_deal(w: World, entity: str, deal: Record) -> None:
    product = w.get(CRM, "Product", deal["productId"])
    line = {
        "ID": w.guid(),
        "LineNumber": 1,
        "Description": product["name"],
        "NetPrice": deal["unitPrice"],
        "AmountFC": deal["amount"],
        "Division": DIVISION,
    }
    if entity == "Order":
        so = w.make(
            F4,
            "orders",
            deal,
            {
                **ex_order_extra(w, "SalesOrders", deal["modifiedAt"], "exact-order-no"),
                "AmountFC": deal["amount"],
                "AmountDC": deal["amount"],
                "Status": 21 if deal["status"] == "delivered" else 12,
            },
        )
        w.make(F4, "order-lines", deal, {**line, "OrderNumber": so["OrderNumber"]})
    else:
        w.make(
            F4,
            "quotes",
            deal,
            {
                **ex_order_extra(w, "Quotations", deal["modifiedAt"], "exact-quotation-no"),
                "AmountFC": deal["amount"],
                "AmountDC": deal["amount"],
                "Status": {"sent": 25, "accepted": 50, "rejected": 5}[deal["status"]],
            },
        )
        w.make(F4, "quote-lines", deal, line)


def link_flow4(w: World) -> None:
    for customer in w.table(CRM, "Customer").values():
        w.make(
            F4,
            "customers",
            customer,
            {
                "ID": w.guid(),
                "Code": ex_account_code(w),
                "Status": "C",
                "IsSales": True,
                "IsSupplier": False,
                "Blocked": False,
                "Type": "A",
                "Division": DIVISION,
                **synced_stamps(w, EX, "Accounts", customer["modifiedAt"]),
            },
        )
    for contact in w.table(CRM, "Contact").values():
        account = w.get(EX, "Accounts", w.target_of(F4, "customers", contact["customerId"]))
        w.make(
            F4,
            "contacts",
            contact,
            {
                "ID": w.guid(),
                "Code": account["Code"],
                "FullName": f"{contact['firstName']} {contact['lastName']}",
                "BusinessEmail": contact["email"],
                "BusinessPhone": contact["phone"],
                "BusinessMobile": contact["mobile"],
                "City": account["City"],
                "Country": account["Country"],
                "Postcode": account["Postcode"],
                "IsMainContact": False,
                "Division": DIVISION,
                **synced_stamps(w, EX, "Contacts", contact["modifiedAt"]),
            },
        )
    for product in w.table(CRM, "Product").values():
        w.make(
            F4,
            "products",
            product,
            {
                "ID": w.guid(),
                "Unit": CRM_UNITS[product["unit"]],
                "IsSalesItem": True,
                "IsPurchaseItem": False,
                "IsStockItem": False,
                "SalesVatCode": "H",
                "Division": DIVISION,
                **synced_stamps(w, EX, "Items", product["modifiedAt"]),
            },
        )
    for entity in ("Order", "Quote"):
        for deal in list(w.table(CRM, entity).values()):
            link_crm_deal(w, entity, deal)


# ------------------------------------------------------------------------------------------------ PMS, ERP

PMS = "pms"
ERP = "erp"
F2 = "exact-online-to-custom-pms"
F5 = "custom-erp-to-custom-pms"


def pms_customer_extra(w: World, modified: str, notes: str | None = None) -> Record:
    return {"id": w.seq("pms-customer", 1001), "notes": notes, **synced_stamps(w, PMS, "Customer", modified)}


def link_flow2(w: World) -> None:
    for dept in w.table(EX, "Departments").values():
        w.make(F2, "departments-customers", dept, pms_customer_extra(w, dept["Modified"], "Intern: afdeling"))
    for division in w.table(EX, "Divisions").values():
        w.make(
            F2, "divisions-customers", division, pms_customer_extra(w, division["Modified"], "Intern: administratie")
        )
    for account in list(w.table(EX, "Accounts").values()):
        w.make(F2, "accounts-customers", account, pms_customer_extra(w, account["Modified"]))


def erp_customer(w: World, when: datetime) -> Record:
    name = no_company(w, w.names)
    street, zipcode, city = no_address(w)
    stamp = w.stamp(ERP, "Customer", when)
    return {
        "Id": w.seq("erp-customer", 1),
        "CustomerNo": w.seq("erp-customer-no", 30001),
        "Name": name,
        "OrgNo": no_org_number(w),
        "Email": f"faktura@{slug(name.removesuffix(' AS'))}.no",
        "Phone": no_phone(w),
        "Address": street,
        "PostCode": zipcode,
        "City": city,
        "CountryCode": "NO",
        "Currency": "NOK",
        "CreditLimit": float(w.pick((50000, 100000, 250000, 500000))),
        "Active": True,
        "CreatedAt": stamp,
        "UpdatedAt": stamp,
    }


def erp_project(w: World, customer: Record, when: datetime) -> Record:
    street, _, city = no_address(w)
    start = when.date() + timedelta(days=w.rng.randrange(5, 40))
    stamp = w.stamp(ERP, "Project", when)
    number = w.seq("erp-project", 1)
    return {
        "Id": number,
        "ProjectNo": f"P-{when.year}-{number:04d}",
        "Name": w.pick(ERP_PROJECTS).format(street=street, city=city, last=w.pick(NO_LAST)),
        "CustomerId": customer["Id"],
        "StartDate": start.isoformat(),
        "EndDate": (start + timedelta(days=w.rng.randrange(30, 400))).isoformat(),
        "Budget": money(w, 80000, 4500000, 5000),
        "Currency": "NOK",
        "Status": "completed" if start < date(2025, 3, 1) else w.pick(("planned", "active", "active")),
        "ProjectManager": w.pick(MANAGERS),
        "Description": None,
        "CreatedAt": stamp,
        "UpdatedAt": stamp,
    }


PMS_STATUS = {"planned": "planned", "active": "active", "completed": "completed", "cancelled": "cancelled"}


def link_erp_project(w: World, project: Record) -> Record:
    return w.make(
        F5,
        "projects",
        project,
        {
            "id": w.seq("pms-project", 5001),
            "status": PMS_STATUS[project["Status"]],
            "description": project["Description"],
            **synced_stamps(w, PMS, "Project", project["UpdatedAt"]),
        },
    )


def build_erp_and_link_flow5(w: World) -> None:
    for _ in range(230):
        customer = w.add(ERP, "Customer", erp_customer(w, w.before_sync(date(2020, 1, 6))))
        w.make(F5, "customers", customer, pms_customer_extra(w, customer["UpdatedAt"]))
    customers = list(w.table(ERP, "Customer").values())
    for _ in range(280):
        customer = w.pick(customers)
        since = parse_stamp(customer["UpdatedAt"]).date()
        project = w.add(ERP, "Project", erp_project(w, customer, w.before_sync(max(since, date(2023, 1, 2)))))
        link_erp_project(w, project)
    # customers and projects the PMS has on its own (internal work): no merge rule matches them
    for _ in range(8):
        name = no_company(w, w.names)
        street, zipcode, city = no_address(w)
        stamp = w.stamp(PMS, "Customer", w.before_sync(date(2024, 1, 8)))
        w.add(
            PMS,
            "Customer",
            {
                "id": w.seq("pms-customer", 1001),
                "name": name,
                "customer_code": None,
                "org_number": no_org_number(w),
                "email": f"post@{slug(name.removesuffix(' AS'))}.no",
                "phone": no_phone(w),
                "address": street,
                "postcode": zipcode,
                "city": city,
                "country": "NO",
                "notes": "Registrert direkte i PMS",
                "created_at": stamp,
                "updated_at": stamp,
            },
        )
    plain = [c for c in w.table(PMS, "Customer").values() if c["notes"] == "Registrert direkte i PMS"]
    for _ in range(15):
        customer = w.pick(plain)
        start = w.day_between(date(2024, 2, 5), date(2025, 10, 6))
        stamp = w.stamp(PMS, "Project", w.before_sync(date(2024, 1, 8)))
        w.add(
            PMS,
            "Project",
            {
                "id": w.seq("pms-project", 5001),
                "customer_id": customer["id"],
                "project_code": f"INT-{w.seq('pms-internal', 101)}",
                "name": f"Internt: {w.pick(('Opplæring', 'Verktøy', 'Tilbudsarbeid', 'HMS'))}",
                "start_date": start.isoformat(),
                "end_date": None,
                "budget": None,
                "currency": "NOK",
                "status": "active",
                "project_manager": w.pick(MANAGERS),
                "description": None,
                "created_at": stamp,
                "updated_at": stamp,
            },
        )


# ------------------------------------------------------------------------------------------------ the day

SAME = "in_sync"


class Picker:
    """Hands out linked records for the scenario, each at most once."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.used: set[tuple[str, str, str]] = set()

    def take(self, system: str, entity: str, ok: Any = None) -> Record:
        for record in self.w.table(system, entity).values():
            key = (system, entity, self.w.key_of(system, entity, record))
            if key not in self.used and (ok is None or ok(record)):
                self.used.add(key)
                return record
        raise LookupError(f"no free {system} {entity}")


def day_flow1(w: World, pick: Picker) -> None:
    with_orders = {str(r["CustomerId"]) for r in w.table(PO, "SalesOrders").values()}
    with_people = {str(r["partyId"]) for r in w.table(PO, "Contactperson").values()}

    def tid(mapping: str, sid: Any) -> str:
        return w.target_of(F1, mapping, sid)

    c = pick.take(PO, "Customers", lambda r: r["MailAddress.AddressLine2"] is None)
    w.edit(
        PO,
        "Customers",
        c["Id"],
        {
            "MailAddress.AddressLine1": f"{w.pick(NO_STREETS)} {w.rng.randrange(2, 90)}",
            "MailAddress.AddressLine2": "3. etasje",
        },
        at(9, 14),
    )
    w.scene(
        F1,
        "customers-accounts",
        "edited in the source (moved)",
        c["Id"],
        tid("customers-accounts", c["Id"]),
        "update_target: AddressLine1, AddressLine2",
        SAME,
    )

    c = pick.take(PO, "Customers", lambda r: r["WebsiteUrl"] is not None)
    account = tid("customers-accounts", c["Id"])
    w.edit(EX, "Accounts", account, {"Website": c["WebsiteUrl"] + "/kontakt"}, at(11, 2))
    w.scene(
        F1, "customers-accounts", "edited in the target (Website)", c["Id"], account, "update_source: WebsiteUrl", SAME
    )

    c = pick.take(PO, "Customers")
    account = tid("customers-accounts", c["Id"])
    w.edit(PO, "Customers", c["Id"], {"PhoneNumber": no_phone(w)}, at(10, 20))
    w.edit(EX, "Accounts", account, {"Phone": no_phone(w)}, at(13, 45))
    w.scene(
        F1,
        "customers-accounts",
        "edited on both sides, conflict = manual (Phone)",
        c["Id"],
        account,
        "conflict (left for review)",
        "conflict again, until someone decides",
    )

    person = pick.take(PO, "Contactperson")
    contact = tid("contactperson-contacts", person["id"])
    w.edit(
        PO, "Contactperson", person["id"], {"emailAddress": person["emailAddress"].replace("@", ".privat@")}, at(8, 40)
    )
    newer = f"{slug(person['firstName'])}@{person['emailAddress'].split('@')[1]}"
    w.edit(EX, "Contacts", contact, {"Email": newer, "BusinessEmail": newer}, at(15, 10))
    w.scene(
        F1,
        "contactperson-contacts",
        "edited on both sides, conflict = newest (Email; Exact's is newer)",
        person["id"],
        contact,
        "update_source: emailAddress (the target was changed last)",
        SAME,
    )

    c = pick.take(PO, "Customers", lambda r: str(r["Id"]) not in with_orders and str(r["Id"]) not in with_people)
    account = tid("customers-accounts", c["Id"])
    w.remove(PO, "Customers", c["Id"])
    w.scene(
        F1,
        "customers-accounts",
        "deleted in the source",
        c["Id"],
        account,
        "delete (policy report: reported, the Exact account stays)",
        "the same delete reported again",
    )

    ex_new = {
        "Created": w.stamp(EX, "Departments", at(10, 0)),
        "Modified": w.stamp(EX, "Departments", at(10, 0)),
        "Division": DIVISION,
    }
    for code, description in (("40", "Magazijn"), ("70", "Marketing")):
        dept = w.add(
            EX,
            "Departments",
            {
                "ID": w.guid(),
                "Code": code,
                "Description": description,
                "Costcenter": code,
                "CostcenterDescription": description,
                **ex_new,
            },
        )
        po_dept = next(d for d in w.table(PO, "Departments").values() if d["Code"] == code)
        w.scene(
            F1,
            "departments",
            f"unlinked on both sides, same Code {code}",
            po_dept["Id"],
            dept["ID"],
            "linked by the merge rule (Code); values agree",
            SAME,
        )
    stamp = w.stamp(PO, "Departments", at(8, 15))
    dept = w.add(
        PO,
        "Departments",
        {
            "Id": 109,
            "Code": "90",
            "Name": "Kundeservice",
            "IsActive": True,
            "CreatedDateTimeOffset": stamp,
            "LastChangedDateTimeOffset": stamp,
        },
    )
    w.scene(
        F1,
        "departments",
        "new, no Exact department has its Code",
        dept["Id"],
        None,
        "reject: Exact Departments is read-only and no merge rule matches",
        "reject again",
    )
    w.scene(F1, "departments-accounts", "new in the source", dept["Id"], None, "create (account Kundeservice)", SAME)
    w.add(
        EX,
        "Currencies",
        {
            "Code": "GBP",
            "Description": "Brits pond",
            "AmountPrecision": 0.01,
            "PricePrecision": 0.0001,
            "Created": w.stamp(EX, "Currencies", at(10, 30)),
            "Modified": w.stamp(EX, "Currencies", at(10, 30)),
        },
    )
    w.scene(
        F1, "currencies", "unlinked on both sides, same code", "GBP", "GBP", "linked by the merge rule (code)", SAME
    )
    w.scene(
        F1,
        "currencies",
        "no Exact currency has its code",
        "PLN",
        None,
        "reject: Exact Currencies is read-only and no merge rule matches",
        "reject again",
    )

    products = [p for p in w.table(PO, "Product").values() if p["ProductType"] == "Product"]
    for i in range(3):
        c = w.add(PO, "Customers", po_customer(w, w.names, at(9 + i, 5 * i)))
        person = w.add(PO, "Contactperson", po_contact_person(w, c, at(9 + i, 5 * i + 3)))
        w.scene(F1, "customers-accounts", "new in the source", c["Id"], None, "create", SAME)
        w.scene(
            F1,
            "contactperson-contacts",
            "new, of a new customer",
            person["id"],
            None,
            "create, after its customer's account (same run)",
            SAME,
        )
        w.scene(
            F1,
            "contactperson-addresses",
            "new, of a new customer",
            person["id"],
            None,
            "create, after its customer's account (same run)",
            SAME,
        )
        if i == 0:
            rows = po_order(w, c, products, at(12, 40), 2)
            add_po_order(w, rows)
            w.scene(
                F1,
                "salesorders",
                "new, of a new customer (2 lines)",
                rows[0]["Id"],
                None,
                "create with its 2 lines (salesorderlines), after the customer's account",
                SAME,
            )
            w.scene(
                F1,
                "salesorders-quotations",
                "new, of a new customer (2 lines)",
                rows[0]["Id"],
                None,
                "create with its 2 lines (salesorderlines-quotationlines)",
                SAME,
            )
    for i in range(2):
        product = w.add(PO, "Product", po_product(w, at(13, 5 + i)))
        w.scene(F1, "products-items", "new in the source", product["Id"], None, "create", SAME)
    c = pick.take(PO, "Customers", lambda r: str(r["Id"]) in with_orders)
    rows = po_order(w, c, list(w.table(PO, "Product").values())[:150], at(14, 20), 2)
    add_po_order(w, rows)
    w.scene(
        F1,
        "salesorders",
        "new, of a linked customer (2 lines)",
        rows[0]["Id"],
        None,
        "create with its 2 lines (salesorderlines)",
        SAME,
    )
    w.scene(
        F1,
        "salesorders-quotations",
        "new, of a linked customer (2 lines)",
        rows[0]["Id"],
        None,
        "create with its 2 lines (salesorderlines-quotationlines)",
        SAME,
    )

    c = pick.take(PO, "Customers", lambda r: str(r["Id"]) in with_people)
    person = w.add(PO, "Contactperson", po_contact_person(w, c, at(9, 50)))
    person["emailAddress"] = person["emailAddress"].replace("@", "@@")
    w.scene(
        F1,
        "contactperson-contacts",
        "new, e-mail address not valid",
        person["id"],
        None,
        "reject: Email is not an e-mail address",
        "reject again",
    )
    w.scene(F1, "contactperson-addresses", "new (the same person)", person["id"], None, "create", SAME)
    c = pick.take(PO, "Customers", lambda r: str(r["Id"]) in with_people)
    person = w.add(PO, "Contactperson", po_contact_person(w, c, at(10, 5)))
    person["lastName"] = None
    w.scene(
        F1,
        "contactperson-contacts",
        "new, no last name",
        person["id"],
        None,
        "reject: LastName is required",
        "reject again",
    )
    w.scene(F1, "contactperson-addresses", "new (the same person)", person["id"], None, "create", SAME)
    supplier = next(iter(w.table(PO, "Suppliers").values()))
    fake_customer = {
        "Id": supplier["Id"],
        "EmailAddress": supplier["EmailAddress"],
        **{k: supplier[k] for k in supplier if k.startswith("MailAddress.")},
    }
    person = w.add(PO, "Contactperson", po_contact_person(w, fake_customer, at(11, 40)))
    for mapping in ("contactperson-contacts", "contactperson-addresses"):
        w.scene(
            F1,
            mapping,
            "new, its party is a supplier (no customer, so no account)",
            person["id"],
            None,
            f"reject: parent missing (customers-accounts has no link for party {supplier['Id']})",
            "reject again",
        )


def day_flow3(w: World, pick: Picker) -> None:

    def tid(mapping: str, sid: Any) -> str:
        return w.target_of(F3, mapping, sid)

    c = pick.take(WS, "Customer", lambda r: r["company_name"] is not None)
    w.edit(WS, "Customer", c["id"], {"phone": nl_phone(w, "20")}, at(9, 30))
    w.scene(
        F3,
        "customers",
        "edited in the source (phone)",
        c["id"],
        tid("customers", c["id"]),
        "update_target: Phone",
        SAME,
    )
    c = pick.take(WS, "Customer", lambda r: r["company_name"] is not None)
    account = tid("customers", c["id"])
    w.edit(EX, "Accounts", account, {"Email": "inkoop@" + c["email"].split("@")[1]}, at(14, 5))
    w.scene(F3, "customers", "edited in the target (Email)", c["id"], account, "update_source: email", SAME)

    used = {r["product_id"] for r in w.table(WS, "OrderLine").values()}
    p = pick.take(WS, "Product")
    item = tid("products", p["id"])
    w.edit(EX, "Items", item, {"Description": p["name"] + " (NL)"}, at(11, 30))
    w.edit(WS, "Product", p["id"], {"name": p["name"] + " 2026"}, at(16, 5))
    w.scene(
        F3,
        "products",
        "edited on both sides, conflict = newest (name; the shop's is newer)",
        p["id"],
        item,
        "update_target: Description (the source was changed last)",
        SAME,
    )
    p = pick.take(WS, "Product", lambda r: r["id"] not in used)
    item = tid("products", p["id"])
    w.remove(WS, "Product", p["id"])
    w.scene(
        F3,
        "products",
        "deleted in the source",
        p["id"],
        item,
        "delete (policy report: reported, the Exact item stays)",
        "the same delete reported again",
    )

    products = [p for p in w.table(WS, "Product").values() if (F3, "products", str(p["id"])) in w.linked]
    c = w.add(WS, "Customer", ws_customer(w, at(10, 15)))
    rows = ws_order(w, c, products, at(10, 25), 2)
    add_ws_order(w, rows)
    w.scene(F3, "customers", "new in the source", c["id"], None, "create", SAME)
    w.scene(
        F3,
        "orders-salesorders",
        "new, of a new customer (2 lines)",
        rows[0]["id"],
        None,
        "create with its 2 lines (orderlines-salesorderlines), after the account",
        SAME,
    )
    w.scene(
        F3,
        "orders-quotations",
        "new, of a new customer (2 lines)",
        rows[0]["id"],
        None,
        "create with its 2 lines (orderlines-quotationlines), after the account",
        SAME,
    )
    p = w.add(WS, "Product", ws_product(w, at(12, 0)))
    w.scene(F3, "products", "new in the source", p["id"], None, "create", SAME)
    linked_customer = pick.take(WS, "Customer", lambda r: r["company_name"] is not None)
    rows = ws_order(w, linked_customer, products, at(15, 45), 1)
    add_ws_order(w, rows)
    w.scene(
        F3,
        "orders-salesorders",
        "new, of a linked customer (1 line)",
        rows[0]["id"],
        None,
        "create with its line (orderlines-salesorderlines)",
        SAME,
    )
    w.scene(
        F3,
        "orders-quotations",
        "new, of a linked customer (1 line)",
        rows[0]["id"],
        None,
        "create with its line (orderlines-quotationlines)",
        SAME,
    )

    c = w.add(WS, "Customer", ws_customer(w, at(11, 20)))
    c["email"] = c["email"].replace("@", ".")
    w.scene(
        F3,
        "customers",
        "new, e-mail address not valid",
        c["id"],
        None,
        "reject: Email is not an e-mail address",
        "reject again",
    )
    for c in w.table(WS, "Customer").values():
        if c["company_name"] is None:
            w.scene(
                F3,
                "customers",
                "a consumer: no company name",
                c["id"],
                None,
                "reject: Name is required (every run)",
                "reject again",
            )
    order = pick.take(WS, "Order")
    line = w.add(
        WS,
        "OrderLine",
        {
            "id": w.seq("ws-line", 900001),
            "order_id": order["id"],
            "product_id": 199,
            "sku": "KNT-1199",
            "description": "Bureaustoel oud model",
            "quantity": 1.0,
            "unit_price": 149.0,
            "line_total": 149.0,
            "updated_at": w.stamp(WS, "OrderLine", at(13, 10)),
        },
    )
    w.edit(WS, "Order", order["id"], {}, at(13, 10))
    for mapping in ("orderlines-salesorderlines", "orderlines-quotationlines"):
        w.scene(
            F3,
            mapping,
            "new line on a linked order; its product 199 is gone from the shop",
            line["id"],
            None,
            "reject: parent missing (products has no product 199)",
            "reject again",
        )


def day_flow4(w: World, pick: Picker) -> None:

    def tid(mapping: str, sid: Any) -> str:
        return w.target_of(F4, mapping, sid)

    k = pick.take(CRM, "Contact")
    w.edit(CRM, "Contact", k["id"], {"jobTitle": "Hoofd inkoop"}, at(10, 10))
    w.scene(
        F4,
        "contacts",
        "edited in the source (job title)",
        k["id"],
        tid("contacts", k["id"]),
        "update_target: JobTitleDescription",
        SAME,
    )
    k = pick.take(CRM, "Customer")
    account = tid("customers", k["id"])
    w.edit(EX, "Accounts", account, {"Phone": nl_phone(w, "30")}, at(12, 20))
    w.scene(F4, "customers", "edited in the target (Phone)", k["id"], account, "update_source: phone", SAME)
    k = pick.take(CRM, "Customer")
    account = tid("customers", k["id"])
    w.edit(CRM, "Customer", k["id"], {"website": k["website"] + "/nl"}, at(9, 0))
    w.edit(EX, "Accounts", account, {"Website": k["website"].replace("https://www.", "https://")}, at(13, 0))
    w.scene(
        F4,
        "customers",
        "edited on both sides, conflict = newest (website; Exact's is newer)",
        k["id"],
        account,
        "update_source: website (the target was changed last)",
        SAME,
    )
    q = pick.take(CRM, "Quote")
    w.remove(CRM, "Quote", q["id"])
    w.scene(
        F4,
        "quotes",
        "deleted in the source",
        q["id"],
        tid("quotes", q["id"]),
        "delete (policy report)",
        "the same delete reported again",
    )
    w.scene(
        F4,
        "quote-lines",
        "deleted in the source (the same quote)",
        q["id"],
        tid("quote-lines", q["id"]),
        "delete (policy report)",
        "the same delete reported again",
    )

    owners = list(w.table(CRM, "User").values())
    products = list(w.table(CRM, "Product").values())
    k = w.add(CRM, "Customer", crm_customer(w, owners, at(9, 45)))
    contact = w.add(CRM, "Contact", crm_contact(w, k, at(9, 50)))
    order = w.add(CRM, "Order", crm_deal(w, "Order", k, products, at(11, 5)))
    w.scene(F4, "customers", "new in the source", k["id"], None, "create", SAME)
    w.scene(F4, "contacts", "new, of a new customer", contact["id"], None, "create, after the account", SAME)
    w.scene(F4, "orders", "new, of a new customer", order["id"], None, "create with its line (order-lines)", SAME)
    p = w.add(
        CRM,
        "Product",
        {
            **products[0],
            "id": w.guid(),
            "code": f"DS-{w.seq('crm-product', 3001)}",
            "name": "Licentie Pro AI-assistent (jaar)",
            "description": "Licentie Pro voor de AI-assistent",
            "createdAt": w.stamp(CRM, "Product", at(14, 0)),
            "modifiedAt": w.stamp(CRM, "Product", at(14, 0)),
        },
    )
    w.scene(F4, "products", "new in the source", p["id"], None, "create", SAME)
    k = pick.take(CRM, "Customer")
    quote = w.add(CRM, "Quote", crm_deal(w, "Quote", k, products, at(15, 30)))
    w.scene(F4, "quotes", "new, of a linked customer", quote["id"], None, "create with its line (quote-lines)", SAME)

    k = pick.take(CRM, "Customer")
    contact = w.add(CRM, "Contact", crm_contact(w, k, at(10, 40)))
    contact["email"] = contact["email"].replace("@", "(at)")
    w.scene(
        F4,
        "contacts",
        "new, e-mail address not valid",
        contact["id"],
        None,
        "reject: Email is not an e-mail address",
        "reject again",
    )
    gone = {"id": w.guid(), "email": "info@verdwenen.nl", "phone": "+31 20 555 0199", "ownerId": owners[0]["id"]}
    contact = w.add(CRM, "Contact", crm_contact(w, gone, at(11, 55)))
    w.scene(
        F4,
        "contacts",
        "new; its customer was deleted from the CRM",
        contact["id"],
        None,
        f"reject: parent missing (customers has no customer {gone['id']})",
        "reject again",
    )


def day_flow2(w: World, pick: Picker, plain: list[str]) -> None:
    free = [a for a in plain if (EX, "Accounts", a) not in pick.used]
    with_contacts = {c["Account"] for c in w.table(EX, "Contacts").values()}

    def take(ok: Any = None) -> Record:
        for key in free:
            if (EX, "Accounts", key) not in pick.used and (ok is None or ok(w.get(EX, "Accounts", key))):
                pick.used.add((EX, "Accounts", key))
                return w.get(EX, "Accounts", key)
        raise LookupError("no free plain account")

    def tid(mapping: str, sid: Any) -> str:
        return w.target_of(F2, mapping, sid)

    a = take()
    w.edit(EX, "Accounts", a["ID"], {"Email": "administratie@" + a["Email"].split("@")[1]}, at(10, 45))
    w.scene(
        F2,
        "accounts-customers",
        "edited in the source (Email)",
        a["ID"],
        tid("accounts-customers", a["ID"]),
        "update_target: email",
        SAME,
    )
    a = take()
    customer = tid("accounts-customers", a["ID"])
    w.edit(PMS, "Customer", customer, {"phone": nl_phone(w, "10")}, at(11, 15))
    w.scene(F2, "accounts-customers", "edited in the target (phone)", a["ID"], customer, "update_source: Phone", SAME)
    a = take()
    customer = tid("accounts-customers", a["ID"])
    w.edit(EX, "Accounts", a["ID"], {"Name": a["Name"].replace(" B.V.", " Holding B.V.")}, at(9, 5))
    w.edit(PMS, "Customer", customer, {"name": a["Name"].replace(" B.V.", " Groep B.V.")}, at(12, 30))
    w.scene(
        F2,
        "accounts-customers",
        "edited on both sides, conflict = newest (name; the PMS's is newer)",
        a["ID"],
        customer,
        "update_source: Name (the target was changed last)",
        SAME,
    )
    a = take(lambda r: r["ID"] not in with_contacts)
    w.remove(EX, "Accounts", a["ID"])
    w.scene(
        F2,
        "accounts-customers",
        "deleted in the source",
        a["ID"],
        tid("accounts-customers", a["ID"]),
        "delete (policy report: reported, the PMS customer stays)",
        "the same delete reported again",
    )
    a = w.add(EX, "Accounts", ex_plain_account(w, at(10, 40)))
    w.scene(F2, "accounts-customers", "new in the source", a["ID"], None, "create", SAME)
    a = w.add(EX, "Accounts", ex_plain_account(w, at(14, 50)))
    a["Email"] = a["Email"].replace("@", ".")
    w.scene(
        F2,
        "accounts-customers",
        "new, e-mail address not valid",
        a["ID"],
        None,
        "reject: email is not an e-mail address",
        "reject again",
    )
    for dept in w.table(EX, "Departments").values():
        if (F2, "departments-customers", dept["ID"]) not in w.linked:
            w.scene(
                F2,
                "departments-customers",
                f"new in the source (department {dept['Code']})",
                dept["ID"],
                None,
                "create",
                SAME,
            )


def day_flow5(w: World, pick: Picker) -> None:

    def tid(mapping: str, sid: Any) -> str:
        return w.target_of(F5, mapping, sid)

    p = pick.take(ERP, "Project", lambda r: r["Status"] != "completed")
    w.edit(ERP, "Project", p["Id"], {"Budget": p["Budget"] + 250000.0}, at(9, 50))
    w.scene(
        F5,
        "projects",
        "edited in the source (budget)",
        p["Id"],
        tid("projects", p["Id"]),
        "update_target: budget",
        SAME,
    )
    c = pick.take(ERP, "Customer")
    customer = tid("customers", c["Id"])
    w.edit(PMS, "Customer", customer, {"email": c["Email"].replace("faktura@", "prosjekt@")}, at(13, 30))
    w.scene(F5, "customers", "edited in the target (email)", c["Id"], customer, "update_source: Email", SAME)
    p = pick.take(ERP, "Project", lambda r: r["Status"] != "completed")
    project = tid("projects", p["Id"])
    end = date.fromisoformat(p["EndDate"])
    w.edit(ERP, "Project", p["Id"], {"EndDate": (end + timedelta(days=14)).isoformat()}, at(8, 30))
    w.edit(PMS, "Project", project, {"end_date": (end + timedelta(days=30)).isoformat()}, at(14, 0))
    w.scene(
        F5,
        "projects",
        "edited on both sides, conflict = newest (end date; the PMS's is newer)",
        p["Id"],
        project,
        "update_source: EndDate (the target was changed last)",
        SAME,
    )
    p = pick.take(ERP, "Project", lambda r: r["Status"] == "completed")
    w.remove(ERP, "Project", p["Id"])
    w.scene(
        F5,
        "projects",
        "deleted in the source",
        p["Id"],
        tid("projects", p["Id"]),
        "delete (policy report: reported, the PMS project stays)",
        "the same delete reported again",
    )

    c = w.add(ERP, "Customer", erp_customer(w, at(10, 0)))
    stamp = w.stamp(PMS, "Customer", datetime(2025, 11, 18, 13, 12, tzinfo=UTC))
    twin = w.add(
        PMS,
        "Customer",
        {
            "id": w.seq("pms-customer", 1001),
            "name": c["Name"].removesuffix(" AS"),
            "org_number": c["OrgNo"],
            "city": c["City"],
            "country": "NO",
            "notes": "Lagt inn av prosjektleder",
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    w.scene(
        F5,
        "customers",
        "unlinked on both sides, same organisation number",
        c["Id"],
        twin["id"],
        "linked by the merge rule (OrgNo); update_target: name, customer_code, email, phone, address, postcode",
        SAME,
    )
    c = w.add(ERP, "Customer", erp_customer(w, at(10, 30)))
    twins = []
    for suffix, when in (
        ("", datetime(2024, 4, 2, 9, 0, tzinfo=UTC)),
        (" (ny)", datetime(2025, 9, 9, 14, 0, tzinfo=UTC)),
    ):
        stamp = w.stamp(PMS, "Customer", when)
        twins.append(
            w.add(
                PMS,
                "Customer",
                {
                    "id": w.seq("pms-customer", 1001),
                    "name": c["Name"] + suffix,
                    "org_number": c["OrgNo"],
                    "city": c["City"],
                    "country": "NO",
                    "notes": "Lagt inn av prosjektleder",
                    "created_at": stamp,
                    "updated_at": stamp,
                },
            )
        )
    w.scene(
        F5,
        "customers",
        "the PMS holds the same organisation number twice",
        c["Id"],
        f"{twins[0]['id']}, {twins[1]['id']}",
        "ambiguous (nothing linked, nothing written)",
        "ambiguous again",
    )
    p = w.add(ERP, "Project", erp_project(w, c, at(10, 35)))
    w.scene(
        F5,
        "projects",
        "new, its customer is ambiguous",
        p["Id"],
        None,
        "reject: parent missing (its customer is not linked and not created)",
        "reject again",
    )

    c = w.add(ERP, "Customer", erp_customer(w, at(11, 0)))
    p = w.add(ERP, "Project", erp_project(w, c, at(11, 10)))
    w.scene(F5, "customers", "new in the source", c["Id"], None, "create", SAME)
    w.scene(F5, "projects", "new, of a new customer", p["Id"], None, "create, after its customer (same run)", SAME)
    c = pick.take(ERP, "Customer")
    p = w.add(ERP, "Project", erp_project(w, c, at(12, 15)))
    w.scene(F5, "projects", "new, of a linked customer", p["Id"], None, "create", SAME)
    c = w.add(ERP, "Customer", erp_customer(w, at(15, 20)))
    c["Email"] = c["Email"].replace("@", "@@")
    w.scene(
        F5,
        "customers",
        "new, e-mail address not valid",
        c["Id"],
        None,
        "reject: email is not an e-mail address",
        "reject again",
    )


KNOCK_ON = {
    (F1, "edited in the source (moved)"): "update_target: address (once flow 1 has updated the account)",
    (F1, "edited on both sides, conflict = manual (Phone)"): "update_target: phone (Exact's new phone)",
    (F3, "edited in the source (phone)"): "update_target: phone (once flow 3 has updated the account)",
    (F3, "edited in the target (Email)"): "update_target: email",
    (F4, "edited in the target (Phone)"): "update_target: phone",
}


def knock_ons(w: World) -> None:
    """What flows 1, 3 and 4 change in Exact accounts reaches the PMS through flow 2."""
    account_mappings = {(F1, "customers-accounts"), (F1, "departments-accounts"), (F3, "customers"), (F4, "customers")}
    for s in list(w.scenes):
        if (s.flow, s.mapping) not in account_mappings:
            continue
        if (s.flow, s.part) in KNOCK_ON:
            w.scene(
                F2,
                "accounts-customers",
                f"changed by {s.flow} ({s.mapping} {s.source_id})",
                s.target_id,
                w.target_of(F2, "accounts-customers", s.target_id),
                KNOCK_ON[(s.flow, s.part)],
                SAME,
            )
        elif s.part == "new in the source":
            w.scene(
                F2,
                "accounts-customers",
                f"created by {s.flow} ({s.mapping} {s.source_id})",
                None,
                None,
                "create, when flow 2 runs after that flow (else in the second run)",
                SAME,
            )


# ------------------------------------------------------------------------------------------------ output


def _nest(record: Record) -> Record:
    out: Record = {}
    for name, value in record.items():
        if value is None:
            continue
        head, dot, rest = name.partition(".")
        if dot:
            out.setdefault(head, {})[rest] = value
        else:
            out[name] = value
    return out


def _json_array(records: list[Record]) -> str:
    if not records:
        return "[]\n"
    rows = (json.dumps(r, ensure_ascii=False, separators=(", ", ": ")) for r in records)
    return "[\n" + ",\n".join(rows) + "\n]\n"


def seed_files(w: World) -> dict[str, list[Record]]:
    """Every data file to write, relative to data/sandbox, with its records."""
    files: dict[str, list[Record]] = {}
    lines: dict[str, list[Record]] = {}
    for line in w.table(PO, "SalesOrderLines").values():
        lines.setdefault(line["sesam_SalesOrderId"], []).append(
            _nest({k: v for k, v in line.items() if not k.startswith("sesam_")})
        )
    for entity, name in PO_FILES.items():
        records = files.setdefault(f"poweroffice/{name}.json", [])
        for record in w.table(PO, entity).values():
            nested = _nest(record)
            if entity == "SalesOrders":
                nested["SalesOrderLines"] = lines.get(record["Id"], [])
            records.append(nested)
    for (system, entity), table in sorted(w.records.items()):
        if system == PO:
            continue
        files[f"{system}/{entity}.json"] = [_nest(r) for r in table.values()]
    for path, records in files.items():
        if path.startswith("poweroffice/"):
            key = "Id" if records and "Id" in records[0] else None
            if key:
                records.sort(key=lambda r: (isinstance(r[key], str), r[key]))
    return files


README_HEAD = """# The sandbox

Seed data for the emulators and the demo: six systems as they stand the morning after a nightly sync, and
the links that sync left behind. Everything here is written by `generate.py` (a fixed random seed; run it from
the repository root with `python data/sandbox/generate.py` and commit what it writes). Do not edit the data
files by hand.

| folder | system | layout |
|---|---|---|
{table}

The last nightly run finished at {last_sync}. Every linked pair agreed then on every mapped property, and its
shadow holds that value (for a `ref` property: the source id of the referenced record; fixed `value`
properties have no shadow). Everything that changed afterwards is listed below. Records in no scenario row
are plain: linked and unchanged (`in_sync`), or unlinked target records no merge rule matches (left alone).

Run the flows in the order 1, 3, 4, 2, 5: flow 2 reads the Exact accounts flows 1, 3 and 4 write, so run
after them its first run already carries their changes to the PMS and its second run is in sync.

## Records

| system | entity | records |
|---|---|---|
"""


README_LAYOUT = (
    (
        "`poweroffice/`",
        "PowerOffice Go",
        "the emulator's seed files: API v2 PascalCase (`Customers.json` holds companies and persons, "
        "`MailAddress` nested, `SalesOrders.json` with `SalesOrderLines` nested), API v1 camelCase "
        "(`ContactPersons.json`, `Locations.json`, `Quotes.json`, `Currencies.json`)",
    ),
    (
        "`exact/`",
        "Exact Online",
        f"the emulator's seed files: one `<Entity>.json` per catalogue entity, ISO dates (UTC), division {DIVISION}",
    ),
    (
        "`webshop/`, `crm/`, `erp/`, `pms/`",
        "the custom systems",
        "one `<Entity>.json` per entity of `flows/systems/<system>.toml`",
    ),
    (
        "`state.json`",
        "the previous night",
        '`{"links": [{"flow", "mapping", "source_id", "target_id", "shadow": {target field: value}}]}`',
    ),
)


def readme(w: World, files: dict[str, list[Record]]) -> str:
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in README_LAYOUT)
    text = README_HEAD.format(table=table, last_sync=LAST_SYNC.strftime("%Y-%m-%d %H:%M UTC"))
    for (system, entity), records in sorted(w.records.items()):
        text += f"| {system} | {entity} | {len(records)} |\n"
    text += f"\n`state.json` holds {len(w.links)} links.\n"
    standing = {
        F1: "Rows of the dataflow that cannot create what they describe are rejected every run, by design: "
        "`customers-person-contacts`, `employees-contacts`, `suppliers-person-contacts` and "
        "`customers-person-addresses` (an Exact contact or address needs an `Account` no PowerOffice person "
        "has a field for), `employees` (Exact employees are read-only and the dataflow has no merge rule), "
        "`locations-addresses` (a location has no address fields), `quotes-quotations` and "
        "`salesorderlines-quotations` (nothing fills `OrderAccount`). `products-units` merges each product "
        "with the Exact unit of its unit code (EA, BX, MTR, KGM, LTR, HUR), but many products share a unit "
        "and a link pairs one record with one, so every product is `ambiguous` every run: the dataflow "
        "pairs products with units, which only a many-to-one link could hold.",
        F4: "`products-contacts` and `users-salesorders` pair things no field joins: every CRM product and user "
        "is rejected every run, by design.",
        F5: "The dataflow lists both mappings twice; the loader folds `customers-again` and `projects-again` "
        "into `customers` and `projects` with a warning, so the state holds links for the first copies only.",
    }
    for flow in FLOW_FILES:
        links = [link for link in w.links if link.flow == flow]
        text += f"\n## {flow}\n\n"
        counts: dict[str, int] = {}
        for link in links:
            counts[link.mapping] = counts.get(link.mapping, 0) + 1
        text += "Links from last night: " + ", ".join(f"`{m}` {n}" for m, n in counts.items()) + ".\n\n"
        if flow in standing:
            text += standing[flow] + "\n\n"
        text += "| mapping | part | source id | target id | first run | second run |\n|---|---|---|---|---|---|\n"
        for s in w.scenes:
            if s.flow == flow:
                text += (
                    f"| {s.mapping} | {s.part} | {s.source_id or '(new)'} | {s.target_id or '-'} | "
                    f"{s.first} | {s.second} |\n"
                )
    return text


def write(w: World) -> None:
    files = seed_files(w)
    written: set[Path] = set()
    for rel, records in files.items():
        path = HERE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_json_array(records), encoding="utf-8")
        written.add(path)
    for folder in ("poweroffice", "exact", "webshop", "crm", "erp", "pms"):
        for stale in (HERE / folder).glob("*.json"):
            if stale not in written:
                stale.unlink()
    links = [
        {
            "flow": link.flow,
            "mapping": link.mapping,
            "source_id": link.source_id,
            "target_id": link.target_id,
            "shadow": link.shadow,
        }
        for link in w.links
    ]
    (HERE / "state.json").write_text('{"links": ' + _json_array(links).rstrip("\n") + "}\n", encoding="utf-8")
    (HERE / "README.md").write_text(readme(w, files), encoding="utf-8")


def build() -> World:
    w = World()
    build_poweroffice(w)
    build_exact(w)
    plain = list(w.table(EX, "Accounts"))
    build_webshop(w)
    build_crm(w)
    link_flow1(w)
    link_flow3(w)
    link_flow4(w)
    link_flow2(w)
    build_erp_and_link_flow5(w)
    pick = Picker(w)
    day_flow1(w, pick)
    day_flow3(w, pick)
    day_flow4(w, pick)
    day_flow2(w, pick, plain)
    day_flow5(w, pick)
    knock_ons(w)
    return w


def main() -> None:
    write(build())


if __name__ == "__main__":
    main()
