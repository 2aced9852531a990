"""Flow files: TOML -> validated model, the flow checker and the flow documentation."""

from reconcile.flow.load import load_flow, parse_flow
from reconcile.flow.model import Defaults, Flow, Guards, Mapping, Property

__all__ = ["Defaults", "Flow", "Guards", "Mapping", "Property", "load_flow", "parse_flow"]
