"""The collections of the emulated PowerOffice Go API, as data."""
