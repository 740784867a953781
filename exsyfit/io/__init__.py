"""Readers of spectra, one :class:`~exsyfit.io.spectrum.Spectrum2D` per 2D spectrum.

Modules: :mod:`~exsyfit.io.spectrum` (the in-memory spectrum), :mod:`~exsyfit.io.bruker`
(with :mod:`~exsyfit.io.bruker_params`, :mod:`~exsyfit.io.bruker_checks` and
:mod:`~exsyfit.io.bruker_metadata`),
:mod:`~exsyfit.io.varian` (with :mod:`~exsyfit.io.varian_checks`),
:mod:`~exsyfit.io.nmrpipe` and :mod:`~exsyfit.io.sparky` (processed files, through
:mod:`~exsyfit.io.fileformats`), :mod:`~exsyfit.io.metadata` (field, pulse program, recycle
delay, probe, spinning), :mod:`~exsyfit.io.temperature` (calibration and the one grouping
rule) and :mod:`~exsyfit.io.series` (a whole series from ``[data] paths``).  Simulated data
are written by :mod:`exsyfit.simulate`, never here.
"""
