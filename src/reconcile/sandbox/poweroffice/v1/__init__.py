"""API v1 of the PowerOffice Go emulator."""
