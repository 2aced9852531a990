"""Exact Online: its catalogue and the connector (tokens, reads, the sync cache, checked writes)."""
