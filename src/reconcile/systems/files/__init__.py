"""A system that exchanges files: a folder with one JSON, CSV or Parquet file per entity."""
