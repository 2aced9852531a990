"""The command line: parse, call the application, render, exit with a code a scheduler can act on.

typer is used here and nowhere else in reconcile.
"""
