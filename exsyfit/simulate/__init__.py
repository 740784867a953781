"""Synthetic EXSY series in real vendor formats (examples, tests, planning)."""
