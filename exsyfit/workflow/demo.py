"""What ``exsyfit demo`` runs, from the source tree or from an installed package alone.

In the source tree the demo is ``examples/argyrodite_li2s/config.toml`` with the simulated
spectra in ``spectra/``.  An installed package holds neither folder, so it ships the example's
config as package data (``exsyfit/workflow/demo_data/argyrodite_li2s.toml``) and regenerates the
simulated series into a temporary folder with :mod:`exsyfit.simulate.bundled`: same truth,
same seed, same acquisition, so the same files byte for byte as the bundled ``spectra/``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

from exsyfit.errors import ExsyfitError

log = logging.getLogger("exsyfit")

#: The bundled series the demo analyses (a key of :data:`exsyfit.simulate.bundled.BUNDLED`).
DEMO_SERIES = "argyrodite_li2s_bruker_processed"
#: The packaged config (relative to the package).
PACKAGED_CONFIG = "demo_data/argyrodite_li2s.toml"


def packaged_config_text() -> str:
    """The demo config shipped inside the package."""
    return resources.files("exsyfit.workflow").joinpath(PACKAGED_CONFIG).read_text(encoding="utf-8")


def write_demo(folder: Path) -> Path:
    """Write the demo config and regenerate its simulated spectra into ``folder``.

    Returns
    -------
    pathlib.Path
        The config file (``folder/config.toml``; spectra in ``folder/spectra/``).
    """
    from exsyfit.simulate.bundled import BUNDLED
    from exsyfit.simulate.series import simulate_series
    from exsyfit.simulate.truth import example_truth

    spec = BUNDLED[DEMO_SERIES]
    simulate_series(folder / "spectra" / DEMO_SERIES, example_truth("argyrodite_li2s"),
                    spec["temperatures_K"], spec["mixing_times_s"], format=spec["format"],
                    seed=spec["seed"], acquisition=spec["acquisition"], overwrite=True)
    config = folder / "config.toml"
    config.write_text(packaged_config_text(), encoding="utf-8")
    return config


def _usable(config: Path) -> bool:
    """The source-tree example and the spectra it names are both there."""
    import tomllib

    try:
        paths = tomllib.loads(config.read_text(encoding="utf-8"))["data"]["paths"]
        from exsyfit.io.series import expand_paths

        return bool(expand_paths(list(paths), config.parent))
    except (OSError, KeyError, ValueError, ExsyfitError):
        return False


@contextlib.contextmanager
def demo_config(find_example: Callable[[str], Path] | None = None,
                example: str = "argyrodite_li2s") -> Iterator[Path]:
    """Yield the config of the demo: the source tree's, or a regenerated temporary copy.

    Parameters
    ----------
    find_example : callable(name) -> Path, optional
        Finds ``examples/<name>/config.toml`` of a source tree (raises ExsyfitError when
        there is none).
    example : str
    """
    if find_example is not None:
        try:
            found = find_example(example)
        except ExsyfitError:
            found = None
        if found is not None and _usable(found):
            yield found
            return
    folder = Path(tempfile.mkdtemp(prefix="exsyfit-demo-"))
    try:
        log.info("demo: no source tree here; regenerating the simulated spectra in %s", folder)
        yield write_demo(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
