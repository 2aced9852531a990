"""API v1's collections (camelCase): contact persons, locations, quotes and currencies."""

from __future__ import annotations

from typing import Any

from reconcile.sandbox.poweroffice.resources.resource import Resource

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
