"""report.md / report.html: numbers equal to summary.json, warnings, provenance."""

from __future__ import annotations

import hashlib
import json
import re
import types
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from exsyfit import __version__
from exsyfit.fit.compare import compare_models
from exsyfit.output.report import NOT_AVAILABLE, file_sha256, fmt, symmetry_check, write_report

from conftest import c8_volume_table, quick_fit

KB = 8.617333262e-5
TEMPS = (263.0, 303.0, 343.0)
TMS = (0.01, 0.05, 0.2, 1.0)


def c8_table(seed: int = 0, sigma: float = 0.002) -> pd.DataFrame:
    """Reference set c8 kinetics at three temperatures and four mixing times."""
    return c8_volume_table(sigma=sigma, seed=seed, temperatures_K=TEMPS, mixing_times_s=TMS)


CONFIG_TEXT = """[data]
volumes = "volumes.csv"

[sites.A]
ppm = 1.0

[sites.B]
ppm = 2.0

[model]
temperature_model = "{model}"
"""


fit = quick_fit


@pytest.fixture(scope="module")
def fits():
    table = c8_table()
    return table, {"arrhenius": fit(table, "arrhenius"), "free": fit(table, "free")}


@pytest.fixture(scope="module")
def written(fits, tmp_path_factory):
    table, res = fits
    out = tmp_path_factory.mktemp("run")
    table.to_csv(out / "volumes.csv", index=False)
    (out / "config.toml").write_text(CONFIG_TEXT.format(model="arrhenius"))
    res["arrhenius"].save(out)
    (out / "figures").mkdir()
    png = out / "figures" / "arrhenius.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    paths = write_report(out, res["arrhenius"], free=res["free"],
                         comparison=compare_models(res), config_path=out / "config.toml",
                         input_files=[out / "volumes.csv"], figures=[png])
    summary = json.loads((out / "summary.json").read_text())
    md = paths["markdown"].read_text(encoding="utf-8")
    html_text = paths["html"].read_text(encoding="utf-8")
    return out, paths, summary, md, html_text


class _Cells(HTMLParser):
    """Rows of every <table> as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def md_rows(md: str) -> list[list[str]]:
    out = []
    for line in md.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [re.sub(r"\\(.)", r"\1", c.strip()) for c in
                     re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            out.append(cells)
    return out


def html_rows(text: str) -> list[list[str]]:
    parser = _Cells()
    parser.feed(text)
    return parser.rows


def _ci(s):
    return f"{fmt(s['median'])} [{fmt(s['q025'])}, {fmt(s['q975'])}]"


def test_fmt_four_significant_digits():
    assert fmt(0.299123456) == "0.2991" and fmt(12345.6) == "1.235e+04"
    assert fmt(float("nan")) == "nan" and fmt(True) == "yes" and fmt(7) == "7"


@pytest.mark.parametrize("kind", ["md", "html"])
def test_numbers_equal_summary_json(written, kind):
    _, _, summary, md, html_text = written
    rows = md_rows(md) if kind == "md" else html_rows(html_text)
    by_first = {}
    for r in rows:
        by_first.setdefault(r[0], []).append(r)
    # global law
    law = {r[1]: r for r in by_first["A<->B"]}
    for key, label in (("Ea_eV", "Ea (eV)"), ("Ea_kJ_per_mol", "Ea (kJ/mol)"),
                       ("ln_A_per_s", "ln A (A in s^-1)")):
        s = summary[key]
        assert law[label][2:] == [fmt(s["median"]), f"[{fmt(s['q16'])}, {fmt(s['q84'])}]",
                                  f"[{fmt(s['q025'])}, {fmt(s['q975'])}]"]
    assert law["correlation(Ea, ln A)"][2] == fmt(summary["Ea_lnA_correlation"])
    assert float(law["Ea (eV)"][2]) == pytest.approx(0.30, abs=0.03)
    # per-temperature rates, populations and T1
    for entry in summary["temperatures"]:
        rate_row, site_row = by_first[fmt(entry["temperature_K"])][:2]
        assert rate_row[1:] == [_ci(entry["k_ex_per_s"]), _ci(entry["k_per_s"]["A->B"]),
                                _ci(entry["k_per_s"]["B->A"])]
        assert site_row[1:] == [_ci(entry["populations"]["A"]), _ci(entry["populations"]["B"]),
                                _ci(entry["T1_s"]["A"]), _ci(entry["T1_s"]["B"])]
    d = summary["diagnostics"]
    diag = {r[0]: r[1] for r in rows if len(r) == 2}
    assert diag["max. autocorrelation time tau (steps)"] == fmt(d["tau_max"])
    assert diag["mean acceptance fraction"] == fmt(d["acceptance_fraction"])
    assert diag["min. effective sample size"] == fmt(d["ess_min"])
    assert diag["steps"] == str(d["n_steps"]) and diag["walkers"] == str(d["n_walkers"])
    assert diag["seed"] == "1"


def test_unconverged_warning_visible(written):
    _, _, summary, md, html_text = written
    assert summary["diagnostics"]["converged"] is False  # 1500 steps
    assert "> **Warning:** The sampler did NOT converge" in md
    assert '<div class="warning"><strong>Warning:</strong> The sampler did NOT converge' \
        in html_text


def test_comparison_linearity_and_checklist(written):
    _, _, _, md, html_text = written
    assert "## Model comparison" in md and "elpd_loo" in md
    assert "## Arrhenius linearity check (free model, A<->B)" in md
    rows = {r[0]: r[1] for r in md_rows(md) if len(r) == 2}
    assert rows["nucleus"] == NOT_AVAILABLE and rows["integration method"] == NOT_AVAILABLE
    assert rows["mixing times (s)"] == "0.01, 0.05, 0.2, 1"
    assert rows["sample temperatures used in the fit"] == "263, 303, 343 K"
    assert rows["reported rate"].startswith("k_ex = k_AB + k_BA")
    assert rows["linear in 1/T"] == "yes"
    assert "Bloch–McConnell" in md and "log-uniform on k_ex" in md
    # symmetric simulated cross peaks
    assert "consistent with V_AB = V_BA" in md


def test_provenance(written):
    out, _, _, md, html_text = written
    digest = hashlib.sha256((out / "volumes.csv").read_bytes()).hexdigest()
    assert digest in md and digest in html_text
    cfg_digest = hashlib.sha256((out / "config.toml").read_bytes()).hexdigest()
    assert cfg_digest in md
    assert 'temperature_model = "arrhenius"' in md and "```toml" in md
    rows = {r[0]: r[1] for r in md_rows(md) if len(r) == 2}
    assert rows["exsyfit version"] == __version__
    assert rows["numpy version"] == np.__version__
    for dep in ("scipy", "emcee", "arviz", "nmrglue", "pandas", "matplotlib"):
        assert rows[f"{dep} version"] not in ("", "not installed")
    assert re.match(r"\d{4}-\d\d-\d\dT", rows["date (UTC)"])
    # figures by relative path, no temporary files left
    # report.md links the figure files; report.html embeds them (opens offline, e-mailable)
    assert "](figures/arrhenius.png)" in md and "figures/arrhenius.png" not in html_text.split(
        "<figcaption>")[0].split("<img")[-1]
    assert 'src="data:image/png;base64,' in html_text
    assert not list(out.glob(".*.tmp"))
    assert html_text.startswith("<!DOCTYPE html>") and "<style>" in html_text


def test_acquisition_and_integration_pass_through(fits, tmp_path):
    _, res = fits
    acq = pd.DataFrame({"experiment": ["e1", "e2"], "nucleus": ["7Li", "7Li"],
                        "mas_rate_hz": [25000.0, 25000.0], "scans": [16, 32]})
    integ = {"method": "lineshape", "baseline": "plane", "sidebands": True,
             "warnings": ["cross peak A->B asymmetric at 303 K"]}
    paths = write_report(tmp_path, res["arrhenius"], acquisition=acq, integration=integ,
                         config_text="[data]\n", embed_images=True,
                         figures=[tmp_path / "none.pdf"])
    md = paths["markdown"].read_text(encoding="utf-8")
    rows = {r[0]: r[1] for r in md_rows(md) if len(r) == 2}
    assert rows["nucleus"] == "7Li" and rows["MAS rate (Hz)"] == "2.5e+04"
    assert rows["number of scans"] == "16, 32"
    assert rows["integration method"] == "lineshape"
    assert rows["spinning-sideband handling"] == "sidebands = True"
    assert rows["recycle delay (s)"] == "not recorded"
    assert "> **Warning:** Integration: cross peak A->B asymmetric at 303 K" in md
    assert "## Model comparison" not in md and "## Figures" not in md


def test_embedded_images(fits, tmp_path):
    _, res = fits
    png = tmp_path / "figures" / "corner.png"
    png.parent.mkdir()
    png.write_bytes(b"\x89PNG\r\n\x1a\nabc")
    paths = write_report(tmp_path, res["free"], figures=[png], embed_images=True)
    html_text = paths["html"].read_text()
    assert 'src="data:image/png;base64,iVBORw0KGgphYmM="' in html_text
    md = paths["markdown"].read_text()
    assert "](figures/corner.png)" in md and "no global law was fitted" in md


def test_symmetry_check_flags_asymmetric_cross_peaks(fits):
    table, res = fits
    tab = res["arrhenius"].problem.table.copy()
    fake = types.SimpleNamespace(problem=types.SimpleNamespace(
        table=tab, spec=types.SimpleNamespace(start="equilibrium")), sites=("A", "B"))
    _, verdict = symmetry_check(fake)
    assert verdict.startswith("consistent")
    sel = (tab.from_site == "A") & (tab.to_site == "B")
    tab.loc[sel, "volume"] *= 1.5
    table_block, verdict = symmetry_check(fake)
    assert verdict.startswith("cross peaks are asymmetric")
    rms = float(table_block.rows[0][3])
    assert rms > 5


def test_file_sha256_of_files_and_folders(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes(b"abc")
    assert file_sha256(f) == hashlib.sha256(b"abc").hexdigest()
    d = tmp_path / "expno"
    (d / "pdata").mkdir(parents=True)
    (d / "acqus").write_text("x")
    (d / "pdata" / "2rr").write_bytes(b"\0\1")
    first = file_sha256(d)
    assert first == file_sha256(d) and len(first) == 64
    (d / "pdata" / "2rr").write_bytes(b"\0\2")
    assert file_sha256(d) != first
    assert file_sha256(tmp_path / "nope") == "missing"


def _summary_on_disk(out, res, **extra):
    summary = res.summary_dict()
    summary.update(extra)
    (out / "summary.json").write_text(json.dumps(summary, default=float))
    return summary


def test_title_warnings_robustness_from_summary_json(fits, tmp_path):
    _, res = fits
    rob = {"variants": [{"name": "box", "what": "box integration instead of line shapes",
                         "Ea_eV_median": 0.298, "k_ex_per_s_median": [1.7, 9.8, 37.0]},
                        {"name": "region+30%", "what": "regions 30 % larger",
                         "Ea_eV_median": 0.306, "k_ex_per_s_median": [1.6, 9.7, 38.1]}],
           "Ea_eV_systematic": 0.004, "k_ex_systematic_fraction": [0.03, 0.02, 0.04]}
    _summary_on_disk(tmp_path, res["arrhenius"], robustness=rob, warnings=[
        "chi2_reduced = 3.1 > 2: the model does not describe the data",
        "Volume table: <script>alert(1)</script> and [link](http://x) in a note"])
    cfg = '[data]\nvolumes = "v.csv"\n[report]\ntitle = "Li2S–LLZO exchange, sample #3"\n'
    paths = write_report(tmp_path, res["arrhenius"], config_text=cfg,
                         integration={"warnings": ["cross peak A->B asymmetric (mean z = +7.8)"]})
    md = paths["markdown"].read_text(encoding="utf-8")
    html_text = paths["html"].read_text(encoding="utf-8")
    # the config's title, escaped for each format
    assert md.startswith("# Li2S–LLZO exchange, sample #3\n")
    assert "<title>Li2S–LLZO exchange, sample #3</title>" in html_text
    assert write_report(tmp_path, res["arrhenius"], title="Run 2")["html"].read_text(
    ).count("<title>Run 2</title>") == 1
    # every warning of every stage at the top, before the first result table
    top = md.split("## Temperature law")[0]
    assert "## Warnings (4)" in top
    assert "Integration: cross peak A-\\>B" not in top  # '>' inside text needs no escape
    assert "Integration: cross peak A->B asymmetric (mean z = +7.8)" in top
    assert "\\<script>alert(1)\\</script>" in top and "[link\\](http://x)" in top
    assert "&lt;script&gt;" in html_text and "<script>" not in html_text
    # ... and again beside the numbers they concern
    fit_section = md.split("## Goodness of fit")[1].split("\n## ")[0]
    assert "chi2_reduced = 3.1 > 2" in fit_section
    # the systematic beside the statistical interval
    rows = md_rows(md)
    ea_row = next(r for r in rows if r[:2] == ["A<->B", "Ea (eV)"])
    assert ea_row[-1] == "± 0.004"
    kj_row = next(r for r in rows if r[:2] == ["A<->B", "Ea (kJ/mol)"])
    assert kj_row[-1] == f"± {fmt(0.004 * 96.485332)}"
    t_rows = [r for r in rows if r and r[0] == "263"]
    assert t_rows[0][-1] == "± 3"
    variants = {r[0]: r for r in rows if r[0] in ("box", "region+30%")}
    assert variants["box"][2] == "0.298" and variants["region+30%"][3] == "1.6, 9.7, 38.1"


def test_goodness_of_fit_per_temperature_and_spectrum(fits, tmp_path):
    _, res = fits
    result = res["arrhenius"]
    summary = result.summary_dict()
    md = write_report(tmp_path, result)["markdown"].read_text(encoding="utf-8")
    rows = md_rows(md)
    from exsyfit.output.residuals import residuals_per_spectrum, standardised_residuals

    z = standardised_residuals(result)["z"].to_numpy()
    per_t = {r[0]: r for r in rows if len(r) == 6 and r[1] == "16"}
    for t, entry in enumerate(summary["temperatures"]):
        row = per_t[fmt(entry["temperature_K"])]
        assert row[2] == fmt(entry["chi2_reduced"])
        zt = z[result.problem.table["temperature_index"].to_numpy() == t]
        assert row[4] == fmt(np.mean(zt**2)) and row[5] == fmt(np.max(np.abs(zt)))
    per = residuals_per_spectrum(result)
    assert len(per) == len(TEMPS) * len(TMS) and (per["n"] == 4).all()
    spec_rows = {r[0]: r for r in rows if len(r) == 8}
    first = per.iloc[0]
    assert spec_rows[first["experiment"]][5] == fmt(first["rms_z"])
    # simulated with the model's own noise: chi2 near 1 or below, no |z| beyond 4
    assert float(per["max_abs_z"].max()) < 4
    assert "the model describes the data" in md


def test_symmetry_numbers_are_those_of_the_integration_check(fits):
    from exsyfit.integrate.checks import cross_peak_symmetry

    _, res = fits
    result = res["arrhenius"]
    table, _ = symmetry_check(result)
    (test,) = cross_peak_symmetry(result.problem.table, ["A", "B"],
                                  by=("temperature_index", "mixing_time_s"))
    assert table.rows[0][2] == f"{test.combined_z:+.2f}" and table.rows[0][3] == fmt(test.rms_z)


def test_acquisition_facts_and_uncalibrated_temperature(fits, tmp_path):
    _, res = fits
    acq = pd.DataFrame({"experiment": ["e1", "e2"], "nucleus": ["7Li", "7Li"],
                        "sf_mhz": [155.5, 155.5], "pulse_program": ["noesyph", "noesyph"],
                        "recycle_delay_s": [5.0, 5.0], "probe": ["4 mm MAS", "4 mm MAS"],
                        "temperature_source": ["set value, uncalibrated (file TE)"] * 2})
    md = write_report(tmp_path, res["arrhenius"], acquisition=acq)["markdown"].read_text(
        encoding="utf-8")
    rows = {r[0]: r[1] for r in md_rows(md) if len(r) == 2}
    assert rows["magnetic field / spectrometer frequency"] == \
        "155.50 MHz (⁷Li), 9.40 T (400 MHz ¹H)"
    assert rows["pulse sequence"] == "noesyph" and rows["recycle delay (s)"] == "5"
    assert rows["probe"] == "4 mm MAS"
    assert rows["sample temperatures used in the fit"].endswith(
        "(uncalibrated: the spectrometer's set values)")
    assert "set values (uncalibrated)" in md


def test_site_positions_and_matrix_log_causes(fits, tmp_path):
    from exsyfit.kinetics.matrixlog import CAUSES, matrix_log_table

    table, res = fits
    sites = [{"temperature_K": 303.0, "site": "A", "configured_ppm": 1.0,
              "found_f1_ppm": 1.0123, "found_f2_ppm": 1.0071, "fitted_f1_ppm": 1.0101,
              "fitted_f2_ppm": 1.0049, "fwhm_f1_ppm": 0.52, "fwhm_f2_ppm": 0.48,
              "search_f1_ppm": 0.3, "search_f2_ppm": 0.3},
             {"temperature_K": 303.0, "site": "B", "configured_ppm": 2.0,
              "found_f1_ppm": None, "found_f2_ppm": float("nan"), "fitted_f1_ppm": 2.0,
              "fitted_f2_ppm": 2.0, "fwhm_f1_ppm": 0.5, "fwhm_f2_ppm": 0.5,
              "search_f1_ppm": 0.3, "search_f2_ppm": 0.3}]
    ml = matrix_log_table(table, ["A", "B"])
    causes = ml.loc[~ml["ok"].astype(bool), "cause"].value_counts()
    assert causes.sum() >= 2  # c8 at sigma 0.002: short mixing times and 263 K fail
    paths = write_report(tmp_path, res["arrhenius"], config_text="[data]\n",
                         integration={"method": "lineshape", "sites": sites,
                                      "options": {"method": "auto", "half_width_ppm": None,
                                                  "half_width_fwhm": 1.5, "baseline": "plane"}},
                         matrix_log=ml)
    md = paths["markdown"].read_text(encoding="utf-8")
    rows = md_rows(md)
    # integration.json keeps the [integration] options in "options": one setting per row
    items = {r[0]: r[1] for r in rows if len(r) == 2}
    assert items["integration method"] == "lineshape"
    assert items["integration regions / baseline"] == "half_width_fwhm = 1.5; baseline = plane"
    assert items["half_width_fwhm"] == "1.5" and "options" not in items
    assert ["303", "A", "1.000", "1.012 / 1.007", "1.010 / 1.005", "0.520 / 0.480",
            "0.300 / 0.300"] in rows
    assert ["303", "B", "2.000", "— / —", "2.000 / 2.000", "0.500 / 0.500",
            "0.300 / 0.300"] in rows
    assert not any(r[0] == "sites" for r in rows)  # not dumped as an integration setting
    # the counted causes, with their meaning, instead of a fixed explanation
    counted = ", ".join(f"{c} {n}" for c, n in causes.items())
    assert f"{causes.sum()} of {len(ml)} spectra fail: " in md
    assert sorted(md.split(" spectra fail: ")[1].split(".")[0].split(", ")) == \
        sorted(counted.split(", "))
    for cause, n in causes.items():
        assert [cause, str(n), CAUSES[cause]] in rows
    failed = ml[~ml["ok"].astype(bool)].iloc[0]
    row = next(r for r in rows if r[0] == failed["experiment"] and len(r) == 7)
    assert row[-2] == failed["cause"]
    assert row[-1] in failed["reason"] and row[-1].startswith("negative")
    assert "negative or complex eigenvalues" not in md
