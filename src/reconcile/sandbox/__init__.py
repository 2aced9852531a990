"""Local emulators of the systems' HTTP APIs (ASGI apps with seedable state), for tests and the demo."""
