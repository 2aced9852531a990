"""Configuration: TOML files (flows, catalogues, system files, connections) read into the model and checked once."""
