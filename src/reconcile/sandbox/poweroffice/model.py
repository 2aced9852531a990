"""The emulator's model of PowerOffice Go: every collection it keeps, by seed file name and by v2 path.

Each collection is defined as data in :mod:`reconcile.sandbox.poweroffice.resources`; this module only
indexes them for the store, the seed loader and the v2 routes.
"""

from __future__ import annotations

from reconcile.sandbox.poweroffice.resources.contacts import CUSTOMERS, EMPLOYEES, SUPPLIERS
from reconcile.sandbox.poweroffice.resources.orders import SALES_ORDERS
from reconcile.sandbox.poweroffice.resources.registers import DEPARTMENTS, PRODUCTS, VATCODES
from reconcile.sandbox.poweroffice.resources.resource import Resource
from reconcile.sandbox.poweroffice.resources.v1 import CONTACT_PERSONS, CURRENCIES, LOCATIONS, QUOTES

V2_RESOURCES: dict[str, Resource] = {
    r.name.casefold(): r for r in (CUSTOMERS, SUPPLIERS, EMPLOYEES, DEPARTMENTS, PRODUCTS, VATCODES, SALES_ORDERS)
}
"""The v2 collections by the first segment of their path, case-folded (``/v2/customers``)."""

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
