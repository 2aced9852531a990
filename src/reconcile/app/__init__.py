"""The application: what each command does, composed of the layers below (nightly runs, review, sandbox)."""
