"""The state store: links, shadows, the journal, runs and locks, in one embedded database file."""

from reconcile.state.store import StateStore, default_state_dir

__all__ = ["StateStore", "default_state_dir"]
