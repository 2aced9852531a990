"""Systems: entity catalogues, connectors (read a snapshot, write a batch) and their shared HTTP plumbing."""
