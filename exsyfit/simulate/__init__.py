"""Synthetic EXSY series in real vendor formats (examples, tests, planning).

Modules: :mod:`~exsyfit.simulate.truth` (sites, exchange and their temperature laws),
:mod:`~exsyfit.simulate.series` (a series of spectra written to disk, with
``DEFAULT_TEMPERATURES_K`` and ``DEFAULT_MIXING_TIMES_S``), :mod:`~exsyfit.simulate.bruker`
and :mod:`~exsyfit.simulate.varian` (the vendor writers), :mod:`~exsyfit.simulate.fid`
(the shared time-domain line shape) and :mod:`~exsyfit.simulate.bundled` (the bundled
``spectra/`` and ``python -m exsyfit.simulate.series``).
"""
