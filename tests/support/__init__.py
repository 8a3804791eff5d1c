"""Helpers several test levels share (plain functions, no fixtures): fixtures stay in the conftests."""
