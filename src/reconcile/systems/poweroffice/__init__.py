"""PowerOffice Go: its catalogue and the connector (API v2 and the v1 parts)."""
