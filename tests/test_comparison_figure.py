"""Several analyses on one Arrhenius axis and their activation energies in one table."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.container import ErrorbarContainer  # noqa: E402

from exsyfit.output.comparison import comparison_table, plot_arrhenius_comparison  # noqa: E402

from conftest import c8_volume_table, quick_fit  # noqa: E402

KB = 8.617333262e-5
TEMPS = (263.0, 303.0, 343.0)


@pytest.fixture(scope="module")
def fits():
    table = c8_volume_table(sigma=0.002, seed=3, temperatures_K=TEMPS,
                            mixing_times_s=(0.01, 0.05, 0.2, 1.0))
    return {"arrhenius": quick_fit(table, "arrhenius", steps=800),
            "free": quick_fit(table, "free", steps=800)}


def _summary(result, **extra):
    s = json.loads(json.dumps(result.summary_dict(), default=float))
    s.update(extra)
    return s


def test_figure_points_law_and_band(fits):
    res = fits["arrhenius"]
    entries = {"sample 1": _summary(res, robustness={"Ea_eV_systematic": 0.004}),
               "sample 1, free": _summary(fits["free"]), "failed": {}}
    fig = plot_arrhenius_comparison(entries)
    ax = fig.axes[0]
    bars = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert len(bars) == 2  # the failed entry is left out
    x, y = bars[0].lines[0].get_data()
    np.testing.assert_allclose(x, 1000 / np.array(TEMPS))
    np.testing.assert_allclose(y, np.log(np.median(res.rate_draws(), axis=0)), rtol=1e-6)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("sample 1: $E_\\mathrm{a}$ = ") and labels[0].endswith(
        " eV ± 0.004 (syst.)")
    assert labels[1] == "sample 1, free (free fit)"
    # the law: median ln A - median Ea / (k_B T); the band close to the posterior's
    (law,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "-" and len(ln.get_xdata())
              > 10]
    xl, yl = law.get_data()
    T = 1000 / xl
    s = entries["sample 1"]
    np.testing.assert_allclose(yl, s["ln_A_per_s"]["median"] - s["Ea_eV"]["median"] / (KB * T))
    ln_k = res.draws("ln_A_per_s")[:, 0, None] - res.draws("Ea_eV")[:, 0, None] / (KB * T)
    true_half = 0.5 * np.diff(np.percentile(ln_k, [2.5, 97.5], axis=0), axis=0)[0]
    (band_coll,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    band = band_coll.get_paths()[0].vertices
    approx_half = 0.5 * np.ptp(band[:, 1][np.abs(band[:, 0] - xl[len(xl) // 2]) < 1e-6])
    assert approx_half == pytest.approx(true_half[len(xl) // 2], rel=0.3)
    plt.close(fig)
    with pytest.raises(ValueError, match="no analysis"):
        plot_arrhenius_comparison({"x": {}})


def test_an_analysis_without_the_pair_is_left_out(fits):
    entries = {"a": _summary(fits["arrhenius"]), "b": _summary(fits["free"])}
    fig = plot_arrhenius_comparison(entries, pair="A<->B")
    assert len([c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]) == 2
    plt.close(fig)
    # another pair's rates are never drawn under this pair's name
    with pytest.raises(ValueError, match="none has the pair A<->C"):
        plot_arrhenius_comparison(entries, pair="A<->C")


def test_table(fits):
    s = _summary(fits["arrhenius"])
    table = comparison_table({"a": s, "b": _summary(fits["free"]), "c": {}})
    assert list(table["config"]) == ["a", "b", "c"]
    row = table.iloc[0]
    assert row["pair"] == "A<->B" and row["n_temperatures"] == 3 and row["T_max_K"] == 343.0
    assert row["Ea_eV_q025"] == s["Ea_eV"]["q025"] and row["Ea_eV_q975"] == s["Ea_eV"]["q975"]
    assert row["Ea_kJ_per_mol_median"] == pytest.approx(s["Ea_eV"]["median"] * 96.485332,
                                                          rel=1e-6)
    assert row["ln_A_per_s_median"] == s["ln_A_per_s"]["median"]
    med, lo, hi = (float(v.replace("−", "-")) for v in
                   row["Ea_eV_text"].replace("[", "").replace("]", "").replace(",", "").split())
    assert med == pytest.approx(s["Ea_eV"]["median"], abs=6e-4)
    assert (lo, hi) == pytest.approx((s["Ea_eV"]["q025"], s["Ea_eV"]["q975"]), abs=6e-4)
    assert np.isnan(table.iloc[1]["Ea_eV_median"]) and table.iloc[1]["temperature_model"] == \
        "free"
