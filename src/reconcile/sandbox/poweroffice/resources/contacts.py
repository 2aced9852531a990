"""API v2's contact collections: customers, suppliers and employees, and the addresses they hold.

Customers, suppliers, employees (and v1's contact persons) take their ids from one contact sequence; a
contact that is both a customer and a supplier has the same ``Id`` in both.
"""

from __future__ import annotations

from typing import Any

from reconcile.sandbox.poweroffice.resources.resource import Resource

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

ADDRESSES = Resource(name="Addresses", title="Address", version=2, template={})
"""Not a collection: the sequence contact addresses take their ids from."""

CONTACT_RESOURCES = (CUSTOMERS, SUPPLIERS, EMPLOYEES)
