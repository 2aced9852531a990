"""The generic emulator: any system file's API served from a folder of records."""
