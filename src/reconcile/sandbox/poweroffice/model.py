"""What the PowerOffice Go emulator knows of the API: record shapes, read-only fields, timestamps, JSON Patch.

Pure data and pure functions; :mod:`reconcile.sandbox.poweroffice` holds the state and the HTTP side.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

IdKind = Literal["contact", "int", "guid", "code"]

TICKS_PER_SECOND = 10_000_000
"""Go's timestamps carry seven decimals: 100-nanosecond ticks, as .NET counts them."""


class ApiProblem(Exception):
    """An error the emulator answers with: a status, a title and a detail (v2 ProblemDetails)."""

    def __init__(self, status: int, title: str, detail: str = "") -> None:
        self.status = status
        self.title = title
        self.detail = detail
        super().__init__(f"{status} {title}: {detail}")


# ------------------------------------------------------------------------------------------------ timestamps

_STAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_ticks(text: str) -> int:
    """A Go timestamp (up to seven decimals, offset optional, UTC when missing) as ticks since the epoch."""
    match = _STAMP.match(text.strip())
    if not match:
        raise ValueError(f"not a date-time: {text!r}")
    year, month, day, hour, minute, second, frac, offset = match.groups()
    moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=UTC)
    ticks = int(moment.timestamp()) * TICKS_PER_SECOND + int((frac or "0").ljust(7, "0"))
    if offset and offset != "Z":
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        ticks -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * TICKS_PER_SECOND
    return ticks


def format_ticks(ticks: int) -> str:
    """Ticks as Go writes a DateTimeOffset: ``2024-05-13T12:34:56.1234567+00:00``."""
    seconds, frac = divmod(ticks, TICKS_PER_SECOND)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:07d}+00:00"


def format_v1_stamp(ticks: int) -> str:
    """Ticks as v1 writes ``lastChanged``: whole seconds, a space, then the offset."""
    return datetime.fromtimestamp(ticks // TICKS_PER_SECOND, UTC).strftime("%Y-%m-%dT%H:%M:%S") + " +00:00"


# ------------------------------------------------------------------------------------------------ resources


@dataclass(frozen=True)
class Resource:
    """One v2 (PascalCase) or v1 (camelCase) collection and the rules the API applies to it."""

    name: str
    title: str
    version: int
    template: Mapping[str, Any]
    id_field: str = "Id"
    id_kind: IdKind = "int"
    read_only: frozenset[str] = frozenset()
    post_only: frozenset[str] = frozenset()
    required: tuple[str, ...] = ()
    number_field: str | None = None
    number_start: int = 1
    number_filter: str | None = None
    external_class: str | None = None
    created_field: str | None = None
    created_filter: str | None = None
    changed: bool = True
    writable: bool = True
    post_status: int = 201
    privilege: str = ""
    filters: Mapping[str, str] = field(default_factory=dict)
    """List filters beyond paging and the change/created ones: query key -> field (comma lists)."""

    def fresh(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.template))


_ADDRESS: dict[str, Any] = {
    "Id": None,
    "AddressLine1": None,
    "AddressLine2": None,
    "ZipCode": None,
    "City": None,
    "CountryCode": "NO",
    "ExternalCode": None,
    "LastChangedDateTimeOffset": None,
}
_ADDRESS_RO = frozenset({"MailAddress.Id", "MailAddress.LastChangedDateTimeOffset"})

_CONTACT: dict[str, Any] = {
    "Id": None,
    "Number": None,
    "Name": None,
    "IsPerson": False,
    "FirstName": None,
    "LastName": None,
    "DateOfBirth": None,
    "LegalName": None,
    "OrganizationNumber": None,
    "EmailAddress": None,
    "PhoneNumber": None,
    "WebsiteUrl": None,
    "MailAddress": _ADDRESS,
    "CurrencyCode": "NOK",
    "ContactGroupIds": [],
    "ExternalImportReference": None,
    "ExternalNumber": None,
    "IsActive": True,
    "IsArchived": False,
    "NationalIdNumber": None,
    "SubledgerAccountId": None,
    "CreatedFromImportJournalId": None,
    "ContactCreatedDateTimeOffset": None,
    "LastChangedDateTimeOffset": None,
}
_CONTACT_RO = frozenset(
    {
        "Id",
        "IsActive",
        "SubledgerAccountId",
        "CreatedFromImportJournalId",
        "ContactCreatedDateTimeOffset",
        "LastChangedDateTimeOffset",
        "DepartmentCode",
        *_ADDRESS_RO,
    }
)

CUSTOMERS = Resource(
    name="Customers",
    title="Customer",
    version=2,
    template={
        **_CONTACT,
        "IsVatFree": False,
        "DepartmentId": None,
        "DepartmentCode": None,
        "PaymentTermId": None,
        "InvoiceDeliveryType": "PdfByEmail",
        "InvoiceEmailAddress": None,
        "SalesPersonEmployeeId": None,
        "Allowance": None,
        "CustomerSince": None,
        "SendPaymentReminders": True,
        "CustomerCreatedDateTimeOffset": None,
    },
    id_kind="contact",
    read_only=_CONTACT_RO | {"CustomerCreatedDateTimeOffset"},
    post_only=frozenset({"DepartmentCode"}),
    number_field="Number",
    number_start=10000,
    number_filter="customerNos",
    external_class="contact",
    created_field="CustomerCreatedDateTimeOffset",
    created_filter="customerCreatedDateTimeOffsetGreaterThan",
    privilege="Customer",
    filters={"externalImportReference": "ExternalImportReference", "externalNos": "ExternalNumber"},
)

SUPPLIERS = Resource(
    name="Suppliers",
    title="Supplier",
    version=2,
    template={**_CONTACT, "Payout": True, "SupplierCreatedDateTimeOffset": None},
    id_kind="contact",
    read_only=_CONTACT_RO | {"SupplierCreatedDateTimeOffset"},
    number_field="Number",
    number_start=20000,
    number_filter="supplierNos",
    external_class="contact",
    created_field="SupplierCreatedDateTimeOffset",
    created_filter="supplierCreatedDateTimeOffsetGreaterThan",
    privilege="Supplier",
    filters={"externalImportReference": "ExternalImportReference", "externalNos": "ExternalNumber"},
)

EMPLOYEES = Resource(
    name="Employees",
    title="Employee",
    version=2,
    template={
        "Id": None,
        "Number": None,
        "FirstName": None,
        "LastName": None,
        "DateOfBirth": None,
        "EmailAddress": None,
        "PhoneNumber": None,
        "MailAddress": _ADDRESS,
        "JobTitle": None,
        "Gender": None,
        "HiredDate": None,
        "StartDate": None,
        "EndDate": None,
        "DepartmentId": None,
        "DepartmentCode": None,
        "LocationId": None,
        "LocationCode": None,
        "ManagerEmployeeId": None,
        "ManagerEmployeeNo": None,
        "ContactGroupIds": [],
        "ExternalImportReference": None,
        "ExternalNumber": None,
        "IsArchived": False,
        "NationalIdNumber": None,
        "SubledgerAccountId": None,
        "CreatedFromImportJournalId": None,
        "ContactCreatedDateTimeOffset": None,
        "EmployeeCreatedDateTimeOffset": None,
        "LastChangedDateTimeOffset": None,
    },
    id_kind="contact",
    read_only=(_CONTACT_RO - {"IsActive"})
    | {"EmployeeCreatedDateTimeOffset", "LocationCode", "ManagerEmployeeNo", "DepartmentCode"},
    required=("FirstName", "LastName"),
    number_field="Number",
    number_start=1,
    number_filter="employeeNos",
    external_class="employee",
    created_field="EmployeeCreatedDateTimeOffset",
    created_filter="employeeCreatedDateTimeOffsetGreaterThan",
    privilege="Employee",
    filters={"externalImportReference": "ExternalImportReference", "externalNos": "ExternalNumber"},
)

DEPARTMENTS = Resource(
    name="Departments",
    title="Department",
    version=2,
    template={
        "Id": None,
        "Code": None,
        "Name": None,
        "IsActive": False,
        "ManagerEmployeeId": None,
        "ManagerEmployeeNo": None,
        "CreatedFromImportJournalId": None,
        "CreatedDateTimeOffset": None,
        "LastChangedDateTimeOffset": None,
    },
    read_only=frozenset({"Id", "CreatedFromImportJournalId", "CreatedDateTimeOffset", "LastChangedDateTimeOffset"}),
    required=("Name",),
    created_field="CreatedDateTimeOffset",
    created_filter="createdDateTimeOffsetGreaterThan",
    privilege="Department",
    filters={"codes": "Code", "name": "Name"},
)

PRODUCTS = Resource(
    name="Products",
    title="Product",
    version=2,
    template={
        "Id": None,
        "Code": None,
        "Name": None,
        "Description": None,
        "Gtin": None,
        "ProductType": "Product",
        "UnitOfMeasureCode": None,
        "UnitPrice": None,
        "UnitCost": None,
        "ProductGroupId": None,
        "ProductGroupCode": None,
        "IsArchived": False,
        "IsStockItem": False,
        "StockOnHand": None,
        "StockAvailable": None,
        "CreatedFromImportJournalId": None,
        "CreatedDateTimeOffset": None,
        "LastChangedDateTimeOffset": None,
    },
    read_only=frozenset(
        {
            "Id",
            "ProductGroupCode",
            "StockOnHand",
            "StockAvailable",
            "CreatedFromImportJournalId",
            "CreatedDateTimeOffset",
            "LastChangedDateTimeOffset",
        }
    ),
    required=("Name",),
    created_field="CreatedDateTimeOffset",
    created_filter="createdDateTimeOffsetGreaterThan",
    post_status=200,
    privilege="Product",
    filters={"codes": "Code", "names": "Name", "type": "ProductType"},
)

VATCODES = Resource(
    name="VatCodes",
    title="VatCode",
    version=2,
    template={
        "Id": None,
        "Code": None,
        "Name": None,
        "Description": None,
        "Rate": 0.0,
        "IsActive": True,
        "IsCustom": False,
        "BaseVatCodeId": None,
        "ValidFrom": None,
        "ValidTo": None,
        "VatBasisRatio": None,
        "VatBasisRatioValidFrom": None,
        "VatBasisRatios": [],
    },
    changed=False,
    writable=False,
    privilege="CommonServices",
)

SALES_ORDERS = Resource(
    name="SalesOrders",
    title="SalesOrder",
    version=2,
    template={
        "Id": None,
        "SalesOrderNo": None,
        "SalesOrderStatus": "Draft",
        "SalesOrderDate": None,
        "DeliveryDate": None,
        "CurrencyCode": "NOK",
        "CurrencyExchangeRate": 1.0,
        "CustomerId": None,
        "CustomerNo": None,
        "CustomerReference": None,
        "CustomerReferenceContactPersonId": None,
        "PurchaseOrderReference": None,
        "ContractNo": None,
        "ExternalImportReference": None,
        "ImportedOrderNo": None,
        "DepartmentId": None,
        "DepartmentCode": None,
        "LocationId": None,
        "LocationCode": None,
        "ProjectId": None,
        "ProjectCode": None,
        "PaymentTermId": None,
        "DeliveryTermId": None,
        "CustomMatchingReference": None,
        "SalesPersonEmployeeId": None,
        "IsCreatedByCurrentIntegration": True,
        "LineCount": 0,
        "NetAmount": 0.0,
        "TotalAmount": 0.0,
        "CreatedDateTimeOffset": None,
        "LastChangedDateTimeOffset": None,
    },
    id_kind="guid",
    read_only=frozenset(
        {
            "Id",
            "SalesOrderNo",
            "DepartmentCode",
            "LocationCode",
            "ProjectCode",
            "IsCreatedByCurrentIntegration",
            "LineCount",
            "NetAmount",
            "TotalAmount",
            "CreatedDateTimeOffset",
            "LastChangedDateTimeOffset",
        }
    ),
    post_only=frozenset({"CustomerNo", "DepartmentCode"}),
    number_field="SalesOrderNo",
    number_start=10001,
    external_class="salesorder",
    created_field="CreatedDateTimeOffset",
    privilege="SalesOrders",
    filters={"orderStatus": "SalesOrderStatus", "departmentCodes": "DepartmentCode"},
)

SALES_ORDER_LINES = Resource(
    name="SalesOrderLines",
    title="SalesOrderLine",
    version=2,
    template={
        "Id": None,
        "SalesOrderId": None,
        "SortOrder": 0,
        "LineType": "Normal",
        "ProductId": None,
        "ProductCode": None,
        "Description": None,
        "Quantity": None,
        "ProductUnitPrice": None,
        "ProductUnitCost": None,
        "Allowance": None,
        "UnitOfMeasureCode": None,
        "UseStandardSalesAccount": True,
        "VatCode": None,
        "VatId": None,
        "VatRate": None,
        "VatReturnSpecification": "None",
        "NetAmount": 0.0,
        "VatAmount": 0.0,
        "TotalAmount": 0.0,
        "DepartmentId": None,
        "DepartmentCode": None,
        "LocationId": None,
        "LocationCode": None,
        "ProjectId": None,
        "ProjectCode": None,
        "SellersReferenceEmployeeId": None,
        "ExternalImportReference": None,
        "Accrual": None,
    },
    id_kind="guid",
    read_only=frozenset(
        {
            "Id",
            "SalesOrderId",
            "ProductCode",
            "VatCode",
            "VatId",
            "VatRate",
            "NetAmount",
            "VatAmount",
            "TotalAmount",
            "DepartmentCode",
            "LocationCode",
            "ProjectCode",
        }
    ),
    changed=False,
    privilege="SalesOrders",
)

# v1 (camelCase) collections

CONTACT_PERSONS = Resource(
    name="ContactPersons",
    title="PartyContactPerson",
    version=1,
    template={
        "id": None,
        "partyId": None,
        "firstName": None,
        "lastName": None,
        "emailAddress": None,
        "phoneNumber": None,
        "lastChanged": None,
        "isActive": True,
        "isPep": False,
        "isRca": False,
        "partyCustomerCode": None,
        "partySupplierCode": None,
        "socialSecurityNumber": None,
        "hasNorwegianSSN": False,
        "address1": None,
        "address2": None,
        "city": None,
        "zipCode": None,
        "residenceCountryCode": None,
        "dateOfBirth": None,
        "placeOfBirth": None,
        "citizenship": None,
        "gender": 0,
        "externalCode": None,
    },
    id_field="id",
    id_kind="contact",
    read_only=frozenset({"lastChanged", "partyCustomerCode", "partySupplierCode", "hasNorwegianSSN"}),
    required=("partyId", "firstName", "lastName"),
)

LOCATIONS = Resource(
    name="Locations",
    title="Location",
    version=1,
    template={"id": None, "name": None, "code": None, "isActive": False},
    id_field="id",
    required=("name",),
    changed=False,
)

QUOTES = Resource(
    name="Quotes",
    title="Quote",
    version=1,
    template={
        "id": None,
        "quoteNo": None,
        "orderNo": None,
        "importedOrderNo": None,
        "documentNo": None,
        "voucherNo": None,
        "invoiceNo": None,
        "quoteDate": None,
        "expiryDate": None,
        "quoteAcceptanceDate": None,
        "orderDate": None,
        "quoteAcceptanceStatus": None,
        "status": None,
        "customerCode": None,
        "customerEmail": None,
        "currencyCode": "NOK",
        "currencyExchangeRate": 1.0,
        "totalAmount": 0.0,
        "netAmount": 0.0,
        "balance": 0.0,
        "departmentCode": None,
        "projectCode": None,
        "dim1Code": None,
        "dim2Code": None,
        "dim3Code": None,
        "deliveryAddress1": None,
        "deliveryAddress2": None,
        "deliveryAddressZipCode": None,
        "deliveryAddressCity": None,
        "deliveryAddressCountryCode": None,
        "deliveryTerm": None,
        "customerReference": None,
        "externalImportReference": None,
        "customMatchingReference": None,
        "createdDate": None,
        "lastChanged": None,
    },
    id_field="id",
    id_kind="guid",
    writable=False,
)

CURRENCIES = Resource(
    name="Currencies",
    title="Currency",
    version=1,
    template={"code": None, "notation": None, "isActive": False},
    id_field="code",
    id_kind="code",
    changed=False,
    writable=False,
)

ADDRESSES = Resource(name="Addresses", title="Address", version=2, template={})
"""Not a collection: the sequence contact addresses take their ids from."""

V2_RESOURCES: dict[str, Resource] = {
    r.name.casefold(): r for r in (CUSTOMERS, SUPPLIERS, EMPLOYEES, DEPARTMENTS, PRODUCTS, VATCODES, SALES_ORDERS)
}
RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        CUSTOMERS,
        SUPPLIERS,
        EMPLOYEES,
        DEPARTMENTS,
        PRODUCTS,
        VATCODES,
        SALES_ORDERS,
        CONTACT_PERSONS,
        LOCATIONS,
        QUOTES,
        CURRENCIES,
    )
}
"""Every collection the emulator keeps, by its seed file's name (``Customers`` is ``Customers.json``)."""

DEFAULT_CURRENCIES: list[dict[str, Any]] = [
    {"code": code, "notation": notation, "isActive": active}
    for code, notation, active in (
        ("NOK", "Norske kroner", True),
        ("EUR", "Euro", True),
        ("USD", "Amerikanske dollar", True),
        ("SEK", "Svenske kroner", True),
        ("DKK", "Danske kroner", True),
        ("GBP", "Britiske pund", False),
    )
]

DEFAULT_VATCODES: list[dict[str, Any]] = [
    {"Id": i, "Code": code, "Name": name, "Description": name, "Rate": rate, "ValidFrom": "2017-01-01"}
    for i, (code, name, rate) in enumerate(
        (
            ("0", "Ingen mva-behandling", 0.0),
            ("1", "Inngående mva, høy sats", 0.25),
            ("3", "Utgående mva, høy sats", 0.25),
            ("5", "Utgående mva, fritatt", 0.0),
            ("6", "Utgående mva, unntatt", 0.0),
            ("11", "Inngående mva, middels sats", 0.15),
            ("31", "Utgående mva, middels sats", 0.15),
            ("33", "Utgående mva, lav sats", 0.12),
        ),
        start=1,
    )
]


def normalise(resource: Resource, record: Mapping[str, Any]) -> dict[str, Any]:
    """A record in the resource's full shape: template defaults for what is missing, keys in their casing."""
    out = resource.fresh()
    known = {k.casefold(): k for k in out}
    for key, value in record.items():
        name = known.get(key.casefold(), key)
        if isinstance(out.get(name), dict) and isinstance(value, Mapping):
            inner = out[name]
            inner_known = {k.casefold(): k for k in inner}
            for ikey, ivalue in value.items():
                inner[inner_known.get(ikey.casefold(), ikey)] = ivalue
        else:
            out[name] = copy.deepcopy(value)
    return out


# ------------------------------------------------------------------------------------------------ JSON Patch


def _unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def _coerce(current: Any, value: Any, where: str) -> Any:
    """Go accepts strings for numbers and booleans (the .NET binder converts them)."""
    if isinstance(value, str) and current is not None and not isinstance(current, str):
        try:
            if isinstance(current, bool):
                if value.lower() not in ("true", "false"):
                    raise ValueError(value)
                return value.lower() == "true"
            if isinstance(current, int):
                return int(value)
            if isinstance(current, float):
                return float(value)
        except ValueError:
            raise ApiProblem(400, "Validation error(s)", f"The value '{value}' is invalid for '{where}'.") from None
    return value


def apply_patch(resource: Resource, record: dict[str, Any], ops: Any) -> dict[str, Any]:
    """Apply RFC 6902 operations to a copy of ``record``; paths are matched without regard to case.

    A path that is not in the resource's patch shape (unknown, or read-only) is a 400 naming the segment,
    as ASP.NET Core's JsonPatch words it.
    """
    title = f"{resource.title} validation error(s)"
    if not isinstance(ops, list):
        raise ApiProblem(400, title, "The JSON patch document must be an array of operations.")
    doc = copy.deepcopy(record)

    def resolve(path: Any) -> tuple[Any, str | int, str]:
        if not isinstance(path, str) or not path.startswith("/"):
            raise ApiProblem(400, title, f"The path '{path}' is not a valid JSON Pointer.")
        segments = [_unescape(s) for s in path[1:].split("/")]
        parent: Any = doc
        dotted: list[str] = []
        for i, segment in enumerate(segments):
            last = i == len(segments) - 1
            if isinstance(parent, dict):
                names = {k.casefold(): k for k in parent}
                name = names.get(segment.casefold())
                if name is None or ".".join([*dotted, name]) in resource.read_only or name == resource.id_field:
                    raise ApiProblem(
                        400,
                        title,
                        f"{resource.title}PatchDto: The target location specified by path segment "
                        f"'{segment.lower()}' was not found.",
                    )
                dotted.append(name)
                if last:
                    return parent, name, ".".join(dotted)
                if parent[name] is None and isinstance(resource.template.get(name), dict):
                    parent[name] = copy.deepcopy(resource.template[name])
                parent = parent[name]
            elif isinstance(parent, list):
                if last and segment == "-":
                    return parent, len(parent), ".".join(dotted)
                if not segment.isdigit() or int(segment) >= len(parent) + (1 if last else 0):
                    raise ApiProblem(
                        400,
                        title,
                        f"The index value provided by path segment '{segment}' is out of bounds of the array size.",
                    )
                if last:
                    return parent, int(segment), ".".join(dotted)
                parent = parent[int(segment)]
            else:
                raise ApiProblem(
                    400,
                    title,
                    f"The target location specified by path segment '{segment.lower()}' was not found.",
                )
        raise ApiProblem(400, title, "The path '/' cannot be patched.")

    def get(path: Any) -> Any:
        parent, key, _ = resolve(path)
        if isinstance(parent, list):
            return copy.deepcopy(parent[key]) if isinstance(key, int) and key < len(parent) else None
        return copy.deepcopy(parent[key])

    def put(path: Any, value: Any, op: str) -> None:
        parent, key, where = resolve(path)
        if isinstance(parent, list):
            assert isinstance(key, int)
            if op == "add":
                parent.insert(key, value)
            elif key < len(parent):
                parent[key] = value
            else:
                raise ApiProblem(400, title, f"The index value '{key}' is out of bounds of the array size.")
        else:
            assert isinstance(key, str)
            parent[key] = _coerce(parent[key], value, where)

    def remove(path: Any) -> None:
        parent, key, _ = resolve(path)
        if isinstance(parent, list):
            assert isinstance(key, int)
            if key >= len(parent):
                raise ApiProblem(400, title, f"The index value '{key}' is out of bounds of the array size.")
            del parent[key]
        else:
            assert isinstance(key, str)
            default = resource.template.get(key)
            parent[key] = copy.deepcopy(default) if not isinstance(default, dict) else None

    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ApiProblem(400, title, "Every operation needs 'op' and 'path'.")
        kind = str(op["op"]).lower()
        if kind in ("add", "replace"):
            if "value" not in op:
                raise ApiProblem(400, title, f"The '{kind}' operation at '{op['path']}' needs a value.")
            put(op["path"], op["value"], kind)
        elif kind == "remove":
            remove(op["path"])
        elif kind == "test":
            if get(op["path"]) != op.get("value"):
                raise ApiProblem(400, title, f"The current value at '{op['path']}' is not equal to the test value.")
        elif kind in ("move", "copy"):
            value = get(op.get("from"))
            if kind == "move":
                remove(op.get("from"))
            put(op["path"], value, "add")
        else:
            raise ApiProblem(400, title, f"Invalid JsonPatch operation '{op['op']}'.")
    return doc


# ------------------------------------------------------------------------------------------------ filters


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


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
