"""API v2 of the PowerOffice Go emulator."""
