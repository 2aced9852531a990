"""Catalogue model: a field's column header and a system's name, in the words a person reads."""

from __future__ import annotations

import pytest

from reconcile.model.catalogue import Catalogue, Field, name_words


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("AddressLine1", "Address line 1"),
        ("customer_id", "Customer id"),
        ("MailAddress.City", "Mail address city"),
        ("VATCode", "VAT code"),
        ("ID", "ID"),
        ("QuotationID", "Quotation ID"),
        ("sesam_SalesOrderId", "Sesam sales order id"),
        ("address_line1", "Address line 1"),
        ("isActive", "Is active"),
    ],
)
def test_a_field_name_reads_as_words(name: str, words: str) -> None:
    assert name_words(name) == words
    assert Field(name=name).header == words


@pytest.mark.parametrize(
    ("description", "header"),
    [
        ("Account code; Exact stores it right-aligned, padded to 18", "Account code"),
        ("Project number (P-2025-0042)", "Project number"),
        ("Status: 0 inactive, 1 active, 2 archived", "Status"),
        ("discount percent", "Discount percent"),
        ("Order number. Assigned by the shop", "Order number"),
        ("The code the customer has in the system it came from", "Customer code"),  # over 40: the name
        ("", "Customer code"),
    ],
)
def test_a_field_is_headed_by_the_first_clause_of_its_description_when_short(description: str, header: str) -> None:
    assert Field(name="customer_code", description=description).header == header


def test_a_catalogue_without_a_title_is_named_by_its_system() -> None:
    assert Catalogue(system="crm", entities={}).title == "crm"
    assert Catalogue(system="crm", entities={}, title="Custom CRM").title == "Custom CRM"
