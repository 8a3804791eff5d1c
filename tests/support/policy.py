"""Copies of the shop's policy file with one section changed, for tests that need other rules."""

from __future__ import annotations

from pathlib import Path

import yaml

from crm_store.policy import DEFAULT_POLICY_FILE


def always_live_policy(folder: Path) -> Path:
    """A copy of the shop's policy with agents at work around the clock, so escalations pause the bot."""
    policy = yaml.safe_load(DEFAULT_POLICY_FILE.read_text())
    policy["support"].update(live_days=list(range(7)), live_from_hour=0, live_until_hour=24)
    path = folder / "policy.yml"
    path.write_text(yaml.safe_dump(policy))
    return path
