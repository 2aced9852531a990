"""The Exact Online emulator: OData, OAuth with rotating refresh tokens, rate limits, sync and faults."""
