"""Peer witnesses: the oracle (and the library) against MONAI / smp / torch."""
