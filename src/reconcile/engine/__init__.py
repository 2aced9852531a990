"""The pure core: project snapshots through mappings, match, diff, plan. Frames in, frames out; no I/O."""
