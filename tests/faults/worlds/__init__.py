"""The small worlds trials run in: a project folder with flows, systems and their records, built from a seed."""
