"""A STAND-IN for the ZED SDK's Python package ``pyzed``, for tests only (see ``sl.py``); never installed."""
