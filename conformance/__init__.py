"""Conformance suite for segloss_xp and its independent float64 oracle."""
