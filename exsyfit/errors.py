"""Exceptions raised on bad user input.

Every exception derived from :class:`ExsyfitError` describes a problem with what the user
supplied (a config file, a data folder, a volume table, a command-line argument).  The
command-line interface turns them into a single ``error:`` line and exit status 2; anything
else is a bug and ends with status 1.

Messages say *where* (file, key or column), *what was found* and *what was expected*.
"""

from __future__ import annotations


class ExsyfitError(Exception):
    """Base class of all user-facing input errors."""


class ConfigError(ExsyfitError):
    """The configuration file (or a setting passed in code) is invalid."""


class DataFormatError(ExsyfitError):
    """A spectrometer folder or data file cannot be read as expected."""


class VolumeTableError(ExsyfitError):
    """A volume table (volumes.csv) is malformed or inconsistent."""


class SeriesError(ExsyfitError):
    """Spectra cannot form one EXSY series (mixed nuclei, duplicates, ...)."""


class FitError(ExsyfitError):
    """The data cannot support the requested model (too few temperatures, ...)."""


class OutputExistsError(ExsyfitError):
    """A result file exists and would be overwritten without ``--force``."""


class OutputError(ExsyfitError):
    """An output file or folder cannot be written (disk full, permissions, read-only, ...)."""
