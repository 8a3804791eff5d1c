"""Agent-facing services: the Rasa HTTP API client and the agent API (the console builds on them)."""
