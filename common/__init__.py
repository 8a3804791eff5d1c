"""Pieces every process shares: the settings object and identity-token signing (imports no project package)."""
