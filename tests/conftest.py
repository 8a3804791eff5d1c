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
# Hypothesis (tests/support/fuzzing.py) keeps its caches in the git-ignored var/, not in .hypothesis/.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY",
                      os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "hypothesis"))


@pytest.fixture
def as_of() -> datetime:
    return AS_OF
