"""Readers (and, for simulated data, writers) of spectrometer folders."""
