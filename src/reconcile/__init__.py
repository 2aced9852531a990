"""reconcile: keeps business records in sync between systems, one nightly snapshot at a time."""

__version__ = "0.1.0"
