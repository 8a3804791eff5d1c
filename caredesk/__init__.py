"""CareDesk operator tooling: settings, the ``caredesk`` command and the process runner."""

__version__ = "0.1.0"
