"""Matrix-logarithm rates against the global fit: which spectra disagree, and by how much.

The matrix logarithm (:mod:`exsyfit.kinetics.matrixlog`) gives a rate from every single
spectrum; the global fit gives one posterior per temperature from all mixing times together.
A spectrum whose own rate lies outside the global posterior (beyond its own noise) points to
a problem with that spectrum, or with the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["compare_with_global_fit", "SIGMAS", "COMPLETE_KT"]

#: A spectrum disagrees when the global posterior's 95 % interval lies more than this many of
#: the spectrum's own standard deviations (from its noise replicas) from its estimate.
SIGMAS = 3.0
#: Beyond this k_ex t_m (global fit) a spectrum is not compared: exchange is nearly complete.
COMPLETE_KT = 3.0


def compare_with_global_fit(table: pd.DataFrame, fit_rates: pd.DataFrame, *,
                            factor: float = 2.0,
                            temperature_tolerance_K: float = 2.0) -> pd.DataFrame:
    """Flag spectra whose matrix-logarithm rate disagrees with the global fit.

    Parameters
    ----------
    table : pandas.DataFrame
        Output of :func:`matrix_log_table` (with or without Monte-Carlo percentiles).
    fit_rates : pandas.DataFrame
        Posterior of k_ex of the global fit, one row per temperature and pair: columns
        ``temperature_K``, ``pair`` (``"A<->B"``), ``k_ex_per_s_median``, ``k_ex_per_s_q025``,
        ``k_ex_per_s_q975`` (as returned by :meth:`exsyfit.fit.results.FitResult.rate_table`).
    factor : float
        Without Monte-Carlo percentiles, a rate more than ``factor`` times above or below the
        posterior median disagrees.
    temperature_tolerance_K : float
        A spectrum is compared with the fitted temperature nearest to its own within this.

    Returns
    -------
    pandas.DataFrame
        ``table`` plus, per pair, ``k_ex_<pair>_fit_per_s`` (posterior median at that
        temperature) and, per row, ``agrees_with_fit`` (True, False, or None when the
        spectrum gave no rate) and ``fit_disagreement`` (plain words, ``""`` when it agrees).
        With Monte-Carlo percentiles a rate disagrees when the posterior 95 % interval lies
        more than :data:`SIGMAS` of the spectrum's own standard deviations (half its 16-84 %
        interval) from the centre of that interval; without them, when it is off by more
        than ``factor``.  Spectra with k_ex t_m above :data:`COMPLETE_KT` are not compared
        (``agrees_with_fit`` None, the reason in ``fit_disagreement``).
    """
    out = table.copy()
    agrees: list[bool | None] = [None] * len(out)
    notes = [""] * len(out)
    for pair in dict.fromkeys(fit_rates["pair"].astype(str)):
        col = f"k_ex_{pair}_per_s"
        if col not in out.columns:
            continue
        rows = fit_rates[fit_rates["pair"].astype(str) == pair]
        t_pair = rows["temperature_K"].to_numpy(dtype=float)
        fit_col = np.full(len(out), np.nan)
        for r, (T, value) in enumerate(zip(out["temperature_K"], out[col], strict=True)):
            d = np.abs(t_pair - float(T))
            if not len(d) or d.min() > temperature_tolerance_K:
                continue
            f = rows.iloc[int(np.argmin(d))]
            med, lo, hi = (float(f["k_ex_per_s_median"]), float(f["k_ex_per_s_q025"]),
                           float(f["k_ex_per_s_q975"]))
            fit_col[r] = med
            if not np.isfinite(value):
                continue
            kt = med * float(out["mixing_time_s"].iloc[r])
            if kt > COMPLETE_KT:
                # exchange is nearly complete: the fast eigenvalue is lost in the noise, the
                # logarithm is biased low whatever the noise replicas say; no comparison
                text = (f"k_ex {pair} not compared with the global fit: k_ex t_m = {kt:.2g}, "
                        "exchange is nearly complete and the spectrum carries little rate "
                        "information")
                notes[r] = f"{notes[r]}; {text}" if notes[r] else text
                continue
            if f"{col}_q16" in out.columns and np.isfinite(out[f"{col}_q16"].iloc[r]):
                q16, q84 = float(out[f"{col}_q16"].iloc[r]), float(out[f"{col}_q84"].iloc[r])
                # the spectrum's own estimate, centre and one standard deviation from its
                # noise replicas; disagreement beyond three of them (about 0.3 % false
                # alarms per spectrum when both describe the same rate)
                centre, sd = 0.5 * (q16 + q84), 0.5 * (q84 - q16)
                bad = hi < centre - SIGMAS * sd or lo > centre + SIGMAS * sd
                own = f"{value:.3g} s^-1 (68 %: {q16:.3g} to {q84:.3g})"
            else:
                bad = not (med / factor <= value <= med * factor)
                own = f"{value:.3g} s^-1"
            agrees[r] = (agrees[r] is not False) and not bad
            if bad:
                text = (f"k_ex {pair} = {own} against the global fit {med:.3g} s^-1 "
                        f"(95 %: {lo:.3g} to {hi:.3g}) at {float(T):g} K")
                notes[r] = f"{notes[r]}; {text}" if notes[r] else text
        out[f"k_ex_{pair}_fit_per_s"] = fit_col
    out["agrees_with_fit"] = agrees
    out["fit_disagreement"] = notes
    return out
