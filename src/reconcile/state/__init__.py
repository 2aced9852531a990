"""The state store: links, shadows, the journal, runs and locks, in one embedded database file."""
