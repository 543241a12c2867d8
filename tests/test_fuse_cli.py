"""``hysupp fuse`` with the user's physics (issue 19): sensor, MTF gains, SRF and PSF files, the PAN
variable, the RR PAN degradation, HS+MS and HS+PAN pairs, the range warning, FR with and without a
sensor. Every run goes through the command line (click's CliRunner) and is checked in its record."""

from __future__ import annotations

import json
import re
import warnings

import numpy as np
import pytest
import scipy.io as sio
from click.testing import CliRunner

from hysupp.cli import main
from hysupp.runs.diagnostics import category_label
from hysupp.errors import FusedRangeWarning, InputError, SensorWarning
from hysupp.methods.registry import available
from hysupp.physics.spectral import gaussian_srf, read_srf_text, srf_from_table, srf_spec_from_variables
from hysupp.runs.physics import resolve_gains

CLASSICAL = sorted(c.name for c in available("pansharpening") if not c.__module__.endswith(".nets"))


def cli(*args, ok=True, warns=None):
    """Run ``hysupp fuse ARGS --json`` and return the record (or the result when not ``ok``).
    ``warns=(category, pattern)``: the run printed a warning of that category on stderr and
    recorded one whose message matches ``pattern``."""
    res = CliRunner().invoke(main, ["fuse", *map(str, args), "--json"])
    if not ok:
        return res
    assert res.exit_code == 0, res.output[-3000:]
    record = json.loads(res.stdout)
    if warns is not None:
        category, pattern = warns
        assert any(w["category"] == category_label(category) and re.search(pattern, w["message"])
                   for w in record["warnings"]), record["warnings"]
        assert "warning [" in res.stderr
    return record


def categories(record):
    return {w["category"] for w in record["warnings"]}


# ------------------------------------------------------------------------------------------ data
def _scene(n_hr, ratio, bands, seed=0):
    """A smooth HR scene (bands, N, N) of three materials, plus its HS grid 430-830 nm."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    wl = np.linspace(430.0, 830.0, bands)
    E = np.stack([0.2 + 0.1 * np.sin(wl / 60.0 + k) + 0.05 * k for k in range(3)], axis=1)   # (bands, 3)
    A = np.stack([gaussian_filter(rng.random((n_hr, n_hr)), 2.0) for _ in range(3)])
    yy, xx = np.mgrid[:n_hr, :n_hr]
    A[0] += 0.5 * ((yy // 6 + xx // 5) % 2)
    A /= A.sum(axis=0, keepdims=True)
    return np.einsum("lp,phw->lhw", E, A), wl


@pytest.fixture(scope="module")
def pan_pair(tmp_path_factory):
    """300 x 300 PAN, 3-band MS at ratio 3 (the issue's size), as .npy files."""
    from test_pansharpening_ratios import synthetic_scene

    d = tmp_path_factory.mktemp("pan_pair")
    rng = np.random.default_rng(3)
    truth, _, pan = synthetic_scene(3, n_lr=100, seed=3, bands=3)
    ms = truth[:, 1::3, 1::3] + rng.normal(0, 1.0, (3, 100, 100))
    np.save(d / "ms.npy", ms)
    np.save(d / "pan.npy", pan)
    return d


@pytest.fixture(scope="module")
def hs_files(tmp_path_factory):
    """HS (20 bands, 16 x 16, with wavelengths), MS (4 Gaussian bands) and PAN (a tabulated
    response) at ratio 3 from one 48 x 48 scene, plus the SRF files that made them."""
    from hysupp import Scene
    from hysupp.fusion.hsms.common import degrade
    from hysupp.io import save

    d = tmp_path_factory.mktemp("hs")
    X, wl = _scene(48, 3, 20)
    centres, fwhm = np.array([480.0, 560.0, 660.0, 780.0]), np.array([60.0, 70.0, 60.0, 80.0])
    R = gaussian_srf(centres, fwhm, wl)
    tw, tr = np.array([420.0, 450.0, 800.0, 840.0]), np.array([0.0, 1.0, 1.0, 0.0])
    Rp = srf_from_table(tw, tr, wl)
    save(Scene(cube=degrade(X, 3, 3.0).astype(np.float32), wavelengths=wl), d / "hs.tif")
    save(Scene(cube=np.einsum("cl,lhw->chw", R, X).astype(np.float32)), d / "ms.tif")
    save(Scene(cube=np.einsum("cl,lhw->chw", Rp, X).astype(np.float32)), d / "pan.tif")
    (d / "srf_gauss.csv").write_text("band,centre,fwhm\n" + "".join(f"B{k},{c},{f}\n" for k, (c, f) in
                                                                   enumerate(zip(centres, fwhm))))
    (d / "srf_pan.csv").write_text("# a measured PAN response\nwavelength,PAN\n" +
                                   "".join(f"{w},{r}\n" for w, r in zip(tw, tr)))
    k = np.exp(-0.5 * (np.arange(-4, 5) / (3.0 / 2.3548200450309493)) ** 2)
    np.savetxt(d / "psf.csv", np.outer(k, k), delimiter=",")
    np.save(d / "X.npy", X)
    return d, X, R, Rp


# ------------------------------------------------------------------------------------------ every method
@pytest.mark.slow          # 11 s (rr) and 25 s (fr) on the shared 2-core box at load 5.6
@pytest.mark.parametrize("protocol", ["rr", "fr"])
def test_every_classical_method_fuses_a_300_px_pan_at_ratio_3_from_the_cli(pan_pair, tmp_path, protocol):
    d = pan_pair
    for name in CLASSICAL:
        rec = cli("-m", name, "--ms", d / "ms.npy", "--pan", d / "pan.npy", "--ratio", 3, "--gnyq", "0.3",
                  "--protocol", protocol, "--out", tmp_path / f"{protocol}-{name}")
        m = rec["metrics"]
        assert rec["physics"]["gains"]["source"] == "user" and rec["physics"]["gains"]["ms_gnyq"] == [0.3] * 3, name
        if protocol == "rr":
            assert rec["protocol"]["pan_degradation"] == "bicubic", name
            assert rec["input"]["low_shape"] == [3, 33, 33] and 0 < m["q4"] <= 1 and np.isfinite(m["ergas"]), name
        else:
            assert rec["input"]["high_shape"] == [1, 300, 300], name
            assert np.isfinite([m["qnr"], m["hqnr"], m["d_rho"]]).all() and m["conventions"]["mtf_gains"] == "user"
        assert set(rec["range_check"]) >= {"flagged", "fraction_far", "excess_below", "excess_above"}, name
        assert (tmp_path / f"{protocol}-{name}" / "fused.tif").is_file()


# ------------------------------------------------------------------------------------------ gains, sensors
def test_gnyq_reaches_the_methods_and_is_checked(pan_pair, tmp_path):
    d = pan_pair
    base = ["--ms", d / "ms.npy", "--pan", d / "pan.npy", "--ratio", 3]
    rec = cli("-m", "BDSD", *base, "--gnyq", "0.31,0.32,0.33", "--gnyq-pan", 0.2, "--out", tmp_path / "a")
    assert rec["info"]["gnyq"] == [0.31, 0.32, 0.33] and rec["info"]["pan_gnyq"] == 0.2
    assert SensorWarning.__name__ not in categories(rec)
    bad = cli("-m", "MTF-GLP", *base, "--gnyq", "0.3,0.3", "--out", tmp_path / "b", ok=False)
    assert bad.exit_code == 2 and "--gnyq" in bad.output and "2 values for 3 MS bands" in bad.output
    bad = cli("-m", "MTF-GLP", *base, "--gnyq", "1.5", "--out", tmp_path / "c", ok=False)
    assert bad.exit_code == 2 and "must be in (0, 1)" in bad.output


def test_psf_gives_the_pansharpening_gains(pan_pair, tmp_path):
    d = pan_pair
    rec = cli("-m", "MTF-GLP", "--ms", d / "ms.npy", "--pan", d / "pan.npy", "--ratio", 3, "--psf", "gaussian:3",
              "--out", tmp_path / "a")
    gains = rec["physics"]["gains"]
    assert gains["source"] == "psf" and gains["ms_gnyq"][0] == pytest.approx(0.41069, abs=1e-4)
    assert rec["physics"]["psf"] == {"kind": "gaussian", "fwhm": 3.0, "unit": "high-resolution pixels",
                                     "used_as": "MTF gain at the MS Nyquist frequency"}


def test_sensor_presets_and_their_warnings(pan_pair, tmp_path):
    d = pan_pair
    base = ["-m", "MTF-GLP", "--ms", d / "ms.npy", "--pan", d / "pan.npy", "--ratio", 3, "--protocol", "fr"]
    rec = cli(*base, "--sensor", "sentinel-2", "--out", tmp_path / "s2",
              warns=(SensorWarning, "Sentinel-2A MSI has 13 MS gains .* the MS image has 3 bands"))
    assert rec["physics"]["gains"]["source"] == "generic" and "--gnyq" in rec["warnings"][0]["message"]
    s2 = resolve_gains("S2", 6, ratio=2, band_names=["B5", "B6", "B7", "b8a", "B11", "B12"])   # the 20 m bands
    assert s2.ms == (0.365, 0.33, 0.34, 0.32, 0.205, 0.235) and s2.warnings == [] and s2.pan == 0.26125
    hyp = resolve_gains("Hyperion", 3, ratio=3, band_names=["B013", "B050", "B100"])
    assert hyp.ms == (0.27, 0.26, 0.30) and hyp.pan == 0.11
    l7 = resolve_gains("ETM+", 6, ratio=2)                 # stand-in gains of the table: said so
    assert l7.source == "sensor" and l7.ms == (0.29,) * 6 and "no published MTF gains" in l7.warnings[0]
    assert resolve_gains("S2", 13, ratio=2).warnings == [] and resolve_gains("l8", 7, gnyq=0.25).warnings == []
    bad = cli(*base, "--sensor", "Landsat-42", "--out", tmp_path / "x", ok=False)
    assert bad.exit_code == 2 and "unknown sensor 'Landsat-42'" in bad.output and "landsat7 (Landsat-7 ETM+)" in \
        bad.output


def test_full_resolution_with_and_without_a_sensor(pan_pair, tmp_path):
    d = pan_pair
    base = ["-m", "MTF-GLP", "--ms", d / "ms.npy", "--pan", d / "pan.npy", "--ratio", 3, "--protocol", "fr"]
    none = cli(*base, "--out", tmp_path / "none", warns=(SensorWarning, "no sensor given"))
    assert categories(none) == {"sensor"} and none["physics"]["gains"]["source"] == "generic"
    assert np.isfinite(none["metrics"]["hqnr"]) and none["metrics"]["conventions"]["mtf_gains"] == "generic"
    with warnings.catch_warnings():
        warnings.simplefilter("error", SensorWarning)
        qb3 = cli(*base, "--gnyq", "0.34,0.32,0.3", "--gnyq-pan", 0.15, "--out", tmp_path / "gains")
    assert qb3["warnings"] == [] and qb3["metrics"]["hqnr"] != none["metrics"]["hqnr"]
    # reduced resolution no longer demands a sensor: generic gains, with the same warning
    rr = cli(*base[:-2], "--protocol", "rr", "--out", tmp_path / "rr", warns=(SensorWarning, "no sensor given"))
    assert rr["protocol"]["pair"]["mtf"]["ms_gnyq"] == [0.29] * 3 and categories(rr) == {"sensor"}


# ------------------------------------------------------------------------------------------ protocol rr
def test_pan_degradation_is_chosen_and_recorded(pan_pair, tmp_path):
    d = pan_pair
    base = ["-m", "GSA", "--ms", d / "ms.npy", "--pan", d / "pan.npy", "--ratio", 3, "--sensor", "QB",
            "--gnyq", "0.34,0.32,0.3"]
    bic = cli(*base, "--protocol", "rr", "--out", tmp_path / "b")
    mtf = cli(*base, "--protocol", "rr", "--pan-degradation", "mtf", "--out", tmp_path / "m")
    assert bic["protocol"]["pan_degradation"] == "bicubic" and mtf["protocol"]["pan_degradation"] == "mtf"
    assert "pan_resize" in bic["protocol"]["pair"]["operators"] and "pan_blur" in mtf["protocol"]["pair"]["operators"]
    assert mtf["protocol"]["pair"]["mtf"]["pan_gnyq"] == 0.15          # QuickBird's PAN gain
    assert bic["metrics"]["q4"] != mtf["metrics"]["q4"]
    bad = cli(*base, "--pan-degradation", "mtf", "--out", tmp_path / "x", ok=False)
    assert bad.exit_code == 2 and "--protocol rr" in bad.output


# ------------------------------------------------------------------------------------------ the PAN file
def test_a_2d_pan_in_a_mat_is_an_image_and_pan_key_chooses_it(pan_pair, tmp_path):
    d = pan_pair
    pan = np.load(d / "pan.npy")
    sio.savemat(tmp_path / "pan.mat", {"I_PAN": pan})                      # read as a library before
    sio.savemat(tmp_path / "two.mat", {"I_PAN": pan, "mask": (pan > 300).astype(float)})
    sio.savemat(tmp_path / "ms.mat", {"I_MS": np.moveaxis(np.load(d / "ms.npy"), 0, -1), "junk": np.ones((5, 5))})
    base = ["-m", "GSA", "--ratio", 3, "--gnyq", "0.3", "--protocol", "fr"]
    rec = cli(*base, "--ms", d / "ms.npy", "--pan", tmp_path / "pan.mat", "--out", tmp_path / "a")
    assert rec["input"]["high_shape"] == [1, 300, 300]
    bad = cli(*base, "--ms", d / "ms.npy", "--pan", tmp_path / "two.mat", "--out", tmp_path / "b", ok=False)
    assert bad.exit_code == 2 and "--pan-key" in bad.output
    rec = cli(*base, "--ms", tmp_path / "ms.mat", "--key", "I_MS", "--pan", tmp_path / "two.mat", "--pan-key",
              "I_PAN", "--out", tmp_path / "c")
    assert rec["input"]["low_shape"] == [3, 100, 100] and rec["input"]["high_shape"] == [1, 300, 300]


# ------------------------------------------------------------------------------------------ range warning
@pytest.fixture(scope="module")
def wv2_8bit(shared_data, tmp_path_factory):
    """The WV2 pair rescaled to 8 bits (one factor for MS and PAN), in the toolbox layout."""
    d = sio.loadmat(shared_data / "pansharpening_wv2" / "imgWV2.mat")
    top = max(d["I_MS"].max(), d["I_PAN"].max())
    path = tmp_path_factory.mktemp("wv2") / "wv2_8bit.mat"
    sio.savemat(path, {"I_MS": np.round(d["I_MS"] / top * 255).astype(np.uint8),
                       "I_PAN": np.round(d["I_PAN"] / top * 255).astype(np.uint8), "ratio": 4.0, "sensor": "WV2",
                       "L": 8.0})
    return path


def test_absurd_fused_values_are_flagged_on_8_bit_data(wv2_8bit, tmp_path):
    # MTF-GLP-HPM divides by the low-pass PAN: a few values land ~10 spans below 0 on the 8-bit pair (RR)
    rec = cli("-m", "MTF-GLP-HPM", "--data", wv2_8bit, "--protocol", "rr", "--out", tmp_path / "hpm",
              warns=(FusedRangeWarning, "MTF-GLP-HPM output: .*absurd values"))
    rc = rec["range_check"]
    assert rc["flagged"] and rc["excess_below"] > 5 and rc["fused_min"] < -1000 and rc["input_max"] <= 255
    assert "fused-range" in categories(rec)
    res = CliRunner().invoke(main, ["fuse", "-m", "MTF-GLP-HPM", "--data", str(wv2_8bit), "--protocol", "rr",
                                    "--out", str(tmp_path / "hpm2")])
    assert res.exit_code == 0 and "far outside the inputs' range" in res.output
    # a normal run on the same data: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", FusedRangeWarning)
        ok = cli("-m", "MTF-GLP", "--data", wv2_8bit, "--protocol", "rr", "--out", tmp_path / "glp")
    assert not ok["range_check"]["flagged"] and ok["warnings"] == []


# ------------------------------------------------------------------------------------------ SRF files
def test_srf_file_formats_agree(hs_files, tmp_path):
    d, X, R, Rp = hs_files
    wl = np.linspace(430.0, 830.0, 20)
    gauss = read_srf_text(d / "srf_gauss.csv")
    assert gauss.kind == "gaussian" and gauss.band_names == ("B0", "B1", "B2", "B3")
    np.testing.assert_allclose(gauss.on_grid(wl), R, atol=1e-12)
    # the same bands tabulated (finely sampled Gaussians, micrometres, semicolons): the same matrix
    fine = np.arange(300.0, 1000.0, 0.5)
    curves = np.exp(-0.5 * ((fine[:, None] - gauss.centres) / (gauss.fwhm / 2.3548200450309493)) ** 2)
    (tmp_path / "tab.txt").write_text("wavelength (um);B0;B1;B2;B3\n" + "".join(
        f"{w / 1000};" + ";".join(f"{v:.8f}" for v in row) + "\n" for w, row in zip(fine, curves)))
    tab = read_srf_text(tmp_path / "tab.txt")
    assert tab.kind == "table" and "micrometres" in tab.notes[0]
    np.testing.assert_allclose(tab.on_grid(wl), R, atol=2e-4)
    np.testing.assert_allclose(tab.band_centres()[0], gauss.centres, atol=0.5)
    np.testing.assert_allclose(tab.band_centres()[1], gauss.fwhm, atol=1.0)
    # .mat: wavelength + responses; HySure's layout (first column = wavelength); a matrix on the HS bands
    assert srf_spec_from_variables({"wavelength": fine, "responses": curves}).kind == "table"
    assert srf_spec_from_variables({"ikonos_sp": np.column_stack([fine, curves])}).kind == "table"
    m = srf_spec_from_variables({"R": 3 * R.T})
    np.testing.assert_allclose(m.on_grid(n_bands=20), R)                # transposed and normalised
    with pytest.raises(InputError, match="neither a tabulated SRF"):
        (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
        read_srf_text(tmp_path / "bad.csv")
    with pytest.raises(InputError, match="has no band wavelengths"):
        gauss.on_grid(None)


# ------------------------------------------------------------------------------------------ HS + MS, HS + PAN
def test_hs_ms_and_hs_pan_at_ratio_3_with_a_user_srf_and_psf(hs_files, tmp_path):
    from hysupp.io import load
    from hysupp.metrics.fusion import psnr

    d, X, R, Rp = hs_files
    # HS + MS, Gaussian SRF file, Gaussian PSF
    ms = cli("-m", "FUSE", "--hs", d / "hs.tif", "--ms", d / "ms.tif", "--ratio", 3, "--srf", d / "srf_gauss.csv",
             "--psf", "gaussian:3", "--out", tmp_path / "ms")
    phys = ms["physics"]
    assert phys["srf"]["kind"] == "gaussian" and phys["srf"]["sha256"] and phys["psf"]["fwhm"] == 3.0
    assert phys["responses"]["srf"] == "given (gaussian)" and phys["responses"]["psf"] == "given"
    assert phys["responses"]["estimate"]["diagnostics"]["fit_residual"] < 1e-3      # the physics fits the data
    assert ms["metrics"]["consistency"] and ms["metrics"]["spectral_psnr_db"] > 40
    fused = load(tmp_path / "ms" / "fused.tif").cube
    assert fused.shape == (20, 48, 48) and psnr(X, fused) > 35
    # HS + PAN (hyperspectral pansharpening through an HS-MS method), tabulated SRF file, kernel PSF file
    pan = cli("-m", "GSA-HS", "--hs", d / "hs.tif", "--pan", d / "pan.tif", "--ratio", 3, "--srf",
              d / "srf_pan.csv", "--psf", d / "psf.csv", "--out", tmp_path / "pan")
    phys = pan["physics"]
    assert phys["srf"]["kind"] == "table" and phys["psf"]["kind"] == "kernel" and phys["psf"]["shape"] == [9, 9]
    assert phys["gains"]["source"] == "psf"              # the MTF indices use the PSF's gain
    assert np.isfinite(pan["metrics"]["hqnr"]) and "sensor" not in categories(pan)
    assert psnr(X, load(tmp_path / "pan" / "fused.tif").cube) > 25


def test_hs_ms_estimates_what_is_missing_within_the_sensors_bands(hs_files, tmp_path):
    d, X, R, Rp = hs_files
    rec = cli("-m", "GSA-HS", "--hs", d / "hs.tif", "--ms", d / "ms.tif", "--ratio", 3, "--psf", "gaussian:3",
              "--sensor", "QuickBird", "--out", tmp_path / "a")
    resp = rec["physics"]["responses"]
    assert resp["srf"] == "estimated from the pair" and resp["psf"] == "given"
    assert resp["band_limits"] == "MS band centres/FWHM from the bands of QuickBird in the sensor table"
    est = np.array(resp["estimate"]["srf"])
    assert est.shape == (4, 20) and (est >= 0).all()
    assert {"fit_residual", "srf_peak_wavelength", "plausible"} <= set(resp["estimate"]["diagnostics"])


def test_fusion_role_errors_are_clear(hs_files, pan_pair, tmp_path):
    d, *_ = hs_files
    bad = cli("-m", "MTF-GLP", "--hs", d / "hs.tif", "--ms", d / "ms.tif", "--ratio", 3, "--out", tmp_path / "a",
              ok=False)
    assert bad.exit_code == 2 and "needs a one-band PAN" in bad.output
    bad = cli("-m", "GSA", "--ms", pan_pair / "ms.npy", "--pan", pan_pair / "pan.npy", "--ratio", 3, "--srf",
              d / "srf_gauss.csv", "--out", tmp_path / "b", ok=False)
    assert bad.exit_code == 2 and "takes no spectral response" in bad.output
    bad = cli("-m", "FUSE", "--hs", d / "hs.tif", "--ms", d / "ms.tif", "--ratio", 3, "--protocol", "rr",
              "--out", tmp_path / "c", ok=False)
    assert bad.exit_code == 2 and "protocol 'rr' degrades an MS+PAN pair" in bad.output
    bad = cli("-m", "FUSE", "--hs", d / "hs.tif", "--ms", d / "ms.tif", "--ratio", 3, "--psf", "gaussian:-1",
              "--out", tmp_path / "d", ok=False)
    assert bad.exit_code == 2 and "FWHM must be > 0" in bad.output
    (tmp_path / "even.csv").write_text("1,1\n1,1\n")
    bad = cli("-m", "FUSE", "--hs", d / "hs.tif", "--ms", d / "ms.tif", "--ratio", 3, "--psf", tmp_path / "even.csv",
              "--out", tmp_path / "e", ok=False)
    assert bad.exit_code == 2 and "odd sizes" in bad.output


def test_fusion_networks_train_with_the_users_gains():
    # the nets build their Wald training pair from the gains of the run (a SensorMTF, not a table key)
    import hysupp
    from hysupp.methods.registry import get_method
    from test_pansharpening_ratios import synthetic_scene

    _, ms, pan = synthetic_scene(4, n_lr=16, bands=4)
    cls = get_method("PanNet", "pansharpening")
    run = hysupp.fuse(method="PanNet", ms=ms, pan=pan, ratio=4, gnyq="0.31", gnyq_pan=0.2, evaluate=False,
                      params=dict(cls.fast_params))
    assert run.info["protocol"]["sensor"] == "user" and run.info["protocol"]["mtf"]["ms_gnyq"] == [0.31] * 4
    assert run.info["protocol"]["mtf"]["pan_gnyq"] == 0.2
