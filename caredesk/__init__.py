"""CareDesk operator tooling: the ``caredesk`` command, the process runner and the test/benchmark harness."""

__version__ = "0.1.0"
