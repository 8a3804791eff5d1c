"""Fixtures shared by every test level."""

from __future__ import annotations

import os
from datetime import datetime

import pytest

# The demo shop's "today" in tests: fixed, so seeded data is the same on every run.
AS_OF = datetime(2026, 6, 15)
TEST_CUSTOMERS = 40

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def as_of() -> datetime:
    return AS_OF
