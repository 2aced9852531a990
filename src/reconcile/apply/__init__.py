"""Carry out a plan through the systems: parents first, in batches, every write journaled."""
