"""exsyfit: Li-ion exchange rates and activation energies from 2D EXSY NMR series."""

__version__ = "0.1.0"
