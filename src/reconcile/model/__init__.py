"""The model: catalogues, flows, plans and their codes, values and the clock. Plain data, no I/O."""
