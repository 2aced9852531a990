"""The PowerOffice Go emulator: API v2 and the v1 parts, tokens, the subscription key and limits."""
