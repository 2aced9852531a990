"""A custom REST system described by a system file: the generic connector."""
