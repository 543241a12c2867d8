"""Fusion pairs: Wald reduced-resolution MS+PAN pairs, MS+PAN and HS+MS pairs from an HR cube."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import scipy.io as sio

from hysupp import Georef, Scene
from hysupp.errors import InputError, OutputExistsError
from hysupp.io import load
from hysupp.io.pair import load_fusion_pair, save_fusion_pair, upsampled_low
from hysupp.pair import FusionPair
from hysupp.physics import Blur, Decimation, band_snr_db, mtf_blur, sensor_srf, snr_db
from hysupp.simulate import get_recipe, simulate
from hysupp.simulate.fusion import (
    ImresizeBicubic,
    hs_ms_pair,
    synthesize_pansharpening_pair,
    wald_pansharpening_pair,
)

WV2 = ("pansharpening_wv2", "imgWV2.mat")
PAVIA = ("pavia_university", "reg_pavia_dataset.mat")


@pytest.fixture(scope="module")
def wv2_scene(shared_data):
    return load(shared_data.joinpath(*WV2))


@pytest.fixture(scope="module")
def wv2_pair(wv2_scene):
    return wald_pansharpening_pair(wv2_scene)


@pytest.fixture(scope="module")
def pavia(shared_data):
    return load(shared_data.joinpath(*PAVIA))


def _small_ms_pan(seed=0, bands=4, size=16, ratio=4):
    rng = np.random.default_rng(seed)
    return rng.random((bands, size, size)), rng.random((size * ratio, size * ratio))


def _small_hs(seed=0, shape=(40, 18, 17)):
    wl = np.linspace(430.0, 860.0, shape[0])
    return Scene(cube=np.random.default_rng(seed).random(shape), wavelengths=wl, name="toy")


# ---------------------------------------------------------------------------------------- Wald
def test_wald_wv2_pair_shapes_reference_and_protocol(wv2_scene, wv2_pair):
    assert wv2_scene.shape == (8, 320, 320) and wv2_scene.extras["pan"].shape == (1, 1280, 1280)
    p = wv2_pair
    assert p.kind == "pansharpening" and p.ratio == 4 and not p.full_resolution
    assert p.reference.shape == (8, 320, 320) and p.low.shape == (8, 80, 80) and p.high.shape == (1, 320, 320)
    np.testing.assert_array_equal(p.reference.cube, wv2_scene.cube)          # the original MS is the reference
    proto = json.loads(json.dumps(p.protocol))
    assert proto == p.protocol
    assert proto["protocol"] == "wald-reduced-resolution" and proto["sensor"] == "WV2" and proto["ratio"] == 4
    assert proto["mtf"]["ms_gnyq"] == [0.35] * 7 + [0.27] and proto["mtf"]["pan_gnyq"] is None
    assert proto["pan_degradation"] == "bicubic" and proto["chains"]["high"] == ["pan_resize"]
    assert proto["phase"] == 2 and proto["operators"]["ms_decimation"]["phase"] == 2
    assert proto["crop"]["rows"] == [0, 320] and not proto["crop"]["cropped"]
    assert p.low.extras["protocol"] is p.protocol and p.high.extras["fusion_role"] == "high"


def test_wald_pair_is_the_documented_operator_chain(wv2_scene, wv2_pair):
    ms = wv2_scene.cube.astype(np.float64)
    pan = wv2_scene.extras["pan"].astype(np.float64)
    dec = Decimation(4, "center")
    low = dec(mtf_blur("WV2", 4, n_bands=8)(ms))
    high = ImresizeBicubic(4)(pan)                      # the toolbox's PAN degradation (default)
    np.testing.assert_allclose(wv2_pair.low.cube, low.astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(wv2_pair.high.cube, high.astype(np.float32), rtol=1e-6)
    mtf_pair = wald_pansharpening_pair(wv2_scene, pan_degradation="mtf")
    np.testing.assert_allclose(mtf_pair.high.cube, dec(mtf_blur("WV2", 4, pan=True)(pan)).astype(np.float32),
                               rtol=1e-6)
    assert mtf_pair.protocol["mtf"]["pan_gnyq"] == 0.11
    # MTF filters have unit DC gain: the means are (nearly) kept
    assert abs(wv2_pair.low.cube.mean() / ms.mean() - 1) < 0.01


def test_wald_pair_is_reproducible(wv2_scene, wv2_pair):
    again = wald_pansharpening_pair(wv2_scene)
    np.testing.assert_array_equal(again.low.cube, wv2_pair.low.cube)
    np.testing.assert_array_equal(again.high.cube, wv2_pair.high.cube)
    assert again.protocol == wv2_pair.protocol


def test_wald_options_crop_and_bicubic_pan():
    ms, pan = _small_ms_pan(size=18)
    p = wald_pansharpening_pair(ms, pan, 4, "QB", crop="center", pan_degradation="bicubic", design="toolbox")
    assert p.reference.shape == (4, 16, 16) and p.low.shape == (4, 4, 4) and p.high.shape == (1, 16, 16)
    assert p.protocol["crop"]["rows"] == [1, 17] and p.protocol["crop"]["pan_rows"] == [4, 68]
    np.testing.assert_array_equal(p.reference.cube, ms[:, 1:17, 1:17])
    np.testing.assert_allclose(p.high.cube, ImresizeBicubic(4)(pan[None, 4:68, 4:68]))
    assert p.protocol["chains"]["high"] == ["pan_resize"]
    assert p.protocol["operators"]["ms_blur"]["design"] == "toolbox"


def test_imresize_bicubic_matches_matlab_weights():
    M = ImresizeBicubic(2).matrix(16)
    # MATLAB imresize(x, 0.5) (bicubic, antialiasing): Keys kernel stretched by 2, normalised
    expected = [-0.01171875, -0.03515625, 0.11328125, 0.43359375, 0.43359375, 0.11328125, -0.03515625,
                -0.01171875]
    np.testing.assert_allclose(M[4, 5:13], expected, atol=1e-15)
    np.testing.assert_allclose(M.sum(axis=1), 1.0)
    # half-sample symmetric border: taps at -1, -2, -3 fold onto 0, 1, 2
    np.testing.assert_allclose(M[0, :3], [0.43359375 + 0.11328125, 0.43359375 - 0.03515625,
                                          0.11328125 - 0.01171875])


# ---------------------------------------------------------------------------------------- HS-MS
def test_hs_ms_pavia_shapes_and_exact_noise_free_operators(pavia):
    assert pavia.shape == (103, 80, 50)
    p = hs_ms_pair(pavia, 4, snr_hs=None, snr_ms=None, dtype="float64")
    assert p.kind == "hs-ms"
    assert p.reference.shape == (103, 80, 48) and p.low.shape == (103, 20, 12) and p.high.shape == (4, 80, 48)
    crop = p.protocol["crop"]
    assert crop["rows"] == [0, 80] and crop["cols"] == [0, 48] and crop["cropped"]
    assert crop["source_shape"] == [80, 50]
    X = pavia.cube[:, :, :48].astype(np.float64)
    np.testing.assert_array_equal(p.reference.cube, X)
    srf = sensor_srf("ikonos", pavia.wavelengths)
    np.testing.assert_allclose(p.high.cube, np.einsum("ml,lhw->mhw", srf.R, X), rtol=1e-12, atol=1e-15)
    hs = Decimation(4, "center")(Blur.gaussian(fwhm=4.0)(X))
    np.testing.assert_allclose(p.low.cube, hs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(p.protocol["operators"]["ms_srf"]["R"]), srf.R)
    assert p.protocol["psf"]["fwhm"] == 4.0 and p.protocol["sensor"] == "ikonos"
    assert p.protocol["noise"] == {"low": None, "high": None, "definition": "band"}
    np.testing.assert_array_equal(p.low.wavelengths, pavia.wavelengths)
    assert p.high.extras["band_names"] == ["B", "G", "R", "NIR"]


@pytest.mark.parametrize("noise", ["band", "global"])
def test_hs_ms_noise_reaches_the_requested_snr(pavia, noise):
    clean = hs_ms_pair(pavia, 4, snr_hs=None, snr_ms=None, dtype="float64")
    noisy = hs_ms_pair(pavia, 4, snr_hs=35.0, snr_ms=40.0, noise=noise, seed=3, dtype="float64")
    assert abs(snr_db(clean.low.cube, noisy.low.cube) - 35.0) < 0.3
    assert abs(snr_db(clean.high.cube, noisy.high.cube) - 40.0) < 0.3
    if noise == "band":
        assert abs(np.median(band_snr_db(clean.low.cube, noisy.low.cube)) - 35.0) < 0.3
        assert np.all(np.abs(band_snr_db(clean.high.cube, noisy.high.cube) - 40.0) < 0.3)
    np.testing.assert_array_equal(noisy.reference.cube, clean.reference.cube)
    assert noisy.protocol["noise"]["low"]["snr_db"] == 35.0 and noisy.protocol["seed"] == 3


def test_hs_ms_seeds_and_independent_streams(pavia):
    a = hs_ms_pair(pavia, 4, seed=1)
    b = hs_ms_pair(pavia, 4, seed=1)
    c = hs_ms_pair(pavia, 4, seed=2)
    np.testing.assert_array_equal(a.low.cube, b.low.cube)
    np.testing.assert_array_equal(a.high.cube, b.high.cube)
    assert not np.array_equal(a.low.cube, c.low.cube)
    ms_only = hs_ms_pair(pavia, 4, snr_hs=None, seed=1)       # the MS noise does not depend on snr_hs
    np.testing.assert_array_equal(ms_only.high.cube, a.high.cube)
    assert a.protocol["snr"] == {"low": 35.0, "high": 40.0}   # defaults


def test_hs_ms_options_explicit_srf_psf_and_phase():
    hs = _small_hs()
    R = np.zeros((2, 40))
    R[0, :20], R[1, 20:] = 1 / 20, 1 / 20
    p = hs_ms_pair(hs, 2, msi_sensor=R, psf_fwhm=3.0, phase=0, snr_hs=None, snr_ms=None)
    X = hs.cube[:, :18, :16]
    np.testing.assert_allclose(p.high.cube, np.einsum("ml,lhw->mhw", R, X))
    np.testing.assert_allclose(p.low.cube, Decimation(2, 0)(Blur.gaussian(fwhm=3.0)(X)))
    assert p.protocol["operators"]["hs_decimation"]["phase"] == 0 and p.protocol["sensor"] == "explicit SRF"
    q = hs_ms_pair(hs, 4, msi_sensor="wv2", msi_bands="covered", snr_hs=None, snr_ms=None)
    assert q.protocol["ms_bands"] == ["Blue", "Green", "Yellow", "Red", "RedEdge"]


# ---------------------------------------------------------------------------------------- MS+PAN from HS
def test_pansharpening_pair_from_pavia(pavia):
    p = synthesize_pansharpening_pair(pavia, "WV2", 4, bands="covered", min_coverage=0.85, dtype="float64")
    assert p.protocol["ms_bands"] == ["Blue", "Green", "Yellow", "Red", "RedEdge"]
    assert p.reference.shape == (5, 80, 48) and p.low.shape == (5, 20, 12) and p.high.shape == (1, 80, 48)
    X = pavia.cube[:, :, :48].astype(np.float64)
    R_ms = np.asarray(p.protocol["operators"]["ms_srf"]["R"])
    r_pan = np.asarray(p.protocol["operators"]["pan_srf"]["R"])
    np.testing.assert_allclose(p.reference.cube, np.einsum("ml,lhw->mhw", R_ms, X), rtol=1e-12)
    np.testing.assert_allclose(p.high.cube, np.einsum("ml,lhw->mhw", r_pan, X), rtol=1e-12)
    low = Decimation(4, "center")(mtf_blur(gnyq=[0.35] * 5, ratio=4)(p.reference.cube))
    np.testing.assert_allclose(p.low.cube, low, rtol=1e-12)
    assert p.protocol["mtf"]["ms_gnyq"] == [0.35] * 5 and p.protocol["sensor"] == "worldview2"
    noisy = synthesize_pansharpening_pair(pavia, "WV2", 4, bands="covered", min_coverage=0.85, snr_ms=30.0,
                                          snr_pan=40.0, seed=5, dtype="float64")
    assert abs(snr_db(p.low.cube, noisy.low.cube) - 30.0) < 0.3
    assert abs(snr_db(p.high.cube, noisy.high.cube) - 40.0) < 0.3


# ---------------------------------------------------------------------------------------- recipes
def test_recipes_produce_pairs_with_the_protocol_recorded(shared_data):
    wald = simulate("wald-pansharpening", data=str(shared_data.joinpath(*WV2)))
    assert wald.low.shape == (8, 80, 80) and wald.high.shape == (1, 320, 320)
    rec = wald.protocol["recipe"]
    assert rec["recipe"] == "wald-pansharpening" and rec["kind"] == "fusion" and rec["params"]["ratio"] is None
    assert wald.protocol["sensor"] == "WV2" and len(wald.protocol["source"]["sha256"]) == 64
    assert wald.protocol["source"]["file"].endswith("imgWV2.mat")
    hsms = simulate("hs-ms", data=str(shared_data.joinpath(*PAVIA)), seed=4)
    assert hsms.low.shape == (103, 20, 12) and hsms.high.shape == (4, 80, 48)
    assert hsms.protocol["recipe"]["params"]["snr_hs"] == 35.0 and hsms.protocol["seed"] == 4
    ps = simulate("pansharpening-from-hs", data=str(shared_data.joinpath(*PAVIA)), bands="covered",
                  min_coverage=0.85)
    assert ps.kind == "pansharpening" and ps.low.shape == (5, 20, 12)
    for pair in (wald, hsms, ps):
        json.dumps(pair.protocol)
    assert get_recipe("HS-MS").kind == "fusion"


def test_cli_simulate_writes_a_fusion_pair(shared_data, tmp_path):
    from click.testing import CliRunner

    from hysupp.cli import main

    out = tmp_path / "pavia_hsms.h5"
    res = CliRunner().invoke(main, ["simulate", "hs-ms", "--param", f"data={shared_data.joinpath(*PAVIA)}",
                                    "--param", "snr_hs=30", "--out", str(out)])
    assert res.exit_code == 0, res.output
    pair = load_fusion_pair(out)
    assert pair.kind == "hs-ms" and pair.low.shape == (103, 20, 12)
    assert pair.protocol["snr"]["low"] == 30.0


# ---------------------------------------------------------------------------------------- files
def _pairs():
    ms, pan = _small_ms_pan()
    wald = wald_pansharpening_pair(ms.astype(np.float32), pan.astype(np.float32), 4, "QB")
    hsms = hs_ms_pair(_small_hs(), 4, seed=0, dtype="float32")
    return {"pansharpening": wald, "hs-ms": hsms}


@pytest.mark.parametrize("ext", ["npz", "mat", "h5"])
@pytest.mark.parametrize("kind", ["pansharpening", "hs-ms"])
def test_save_load_round_trip(tmp_path, ext, kind):
    pair = _pairs()[kind]
    path = save_fusion_pair(pair, tmp_path / f"pair.{ext}")
    back = load_fusion_pair(path)
    assert back.kind == pair.kind and back.ratio == pair.ratio and back.protocol == pair.protocol
    for role in ("reference", "low", "high"):
        a, b = getattr(pair, role), getattr(back, role)
        np.testing.assert_array_equal(b.cube, a.cube)
        assert b.cube.dtype == a.cube.dtype
        if a.wavelengths is not None:
            np.testing.assert_array_equal(b.wavelengths, a.wavelengths)
    with pytest.raises(OutputExistsError):
        save_fusion_pair(pair, path)
    save_fusion_pair(pair, path, overwrite=True)
    low_key, high_key = ("ms", "pan") if kind == "pansharpening" else ("hs", "ms")
    C, h, w = pair.low.shape
    if ext == "npz":
        with np.load(path) as z:
            assert z["gt"].shape == pair.reference.shape and z[low_key].shape == (C, h, w)
            proto = json.loads(str(z["protocol_json"]))
            if kind == "pansharpening":
                np.testing.assert_array_equal(z["lms"], upsampled_low(pair))
    elif ext == "mat":
        raw = sio.loadmat(path)
        assert raw["gt"].shape == pair.reference.shape[1:] + pair.reference.shape[:1]       # (H, W, C)
        assert raw[low_key].shape == (h, w, C)
        if kind == "pansharpening":
            assert raw["pan"].shape == pair.high.shape[1:]
        proto = json.loads(str(raw["protocol_json"][0]))
    else:
        with h5py.File(path) as fh:
            assert fh["gt"].shape == (1,) + pair.reference.shape and fh[low_key].shape == (1, C, h, w)
            assert fh[high_key].shape == (1,) + pair.high.shape
            if kind == "pansharpening":
                assert fh["lms"].shape == (1,) + pair.reference.shape
            proto = json.loads(fh.attrs["protocol_json"])
    assert proto == pair.protocol


def test_protocol_names_every_operator():
    for pair in _pairs().values():
        proto = json.loads(json.dumps(pair.protocol))
        ops = proto["operators"]
        assert ops and all("op" in d for d in ops.values())
        used = [step for chain in proto["chains"].values() for step in chain]
        assert set(ops) == {s for s in used if not s.startswith("noise.")}
        for step in used:
            if step.startswith("noise."):
                assert step.split(".")[1] in proto["noise"]
    ops = _pairs()["hs-ms"].protocol["operators"]
    assert {ops["hs_psf"]["op"], ops["hs_decimation"]["op"], ops["ms_srf"]["op"]} == {
        "blur", "decimation", "spectral_response"}


def test_foreign_pancollection_h5_reads_one_item(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "pc.h5"
    with h5py.File(path, "w") as fh:
        fh["gt"] = rng.random((2, 3, 16, 16))
        fh["ms"] = rng.random((2, 3, 4, 4))
        fh["lms"] = rng.random((2, 3, 16, 16))
        fh["pan"] = rng.random((2, 1, 16, 16))
    pair = load_fusion_pair(path, index=1)
    assert pair.ratio == 4 and pair.kind == "pansharpening" and pair.reference.shape == (3, 16, 16)
    with h5py.File(path) as fh:
        np.testing.assert_array_equal(pair.low.cube, fh["ms"][1])
    with pytest.raises(InputError, match="holds 2 item"):
        load_fusion_pair(path, index=2)


def test_georef_is_kept_and_scaled():
    hs = _small_hs()
    hs.georef = Georef(crs="EPSG:32633", transform=(2.0, 0.0, 100.0, 0.0, -2.0, 200.0))
    p = hs_ms_pair(hs, 4, crop="center", snr_hs=None, snr_ms=None)
    assert p.protocol["crop"]["rows"] == [1, 17] and p.protocol["crop"]["cols"] == [0, 16]
    assert p.reference.georef.transform == (2.0, 0.0, 100.0, 0.0, -2.0, 198.0)
    # LR pixels are 8 m; phase 2 samples HR pixel 2 of each block: origin half an HR pixel inwards
    assert p.low.georef.transform == (8.0, 0.0, 101.0, 0.0, -8.0, 197.0)
    assert p.high.georef.transform == p.reference.georef.transform and p.low.georef.crs == "EPSG:32633"
    back = load_fusion_pair(save_fusion_pair(p, _tmp_npz()))
    assert back.low.georef.transform == p.low.georef.transform


def _tmp_npz():
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp()) / "g.npz"


# ---------------------------------------------------------------------------------------- errors
def test_bad_inputs_raise_specific_input_errors(pavia):
    ms, pan = _small_ms_pan()
    with pytest.raises(InputError, match="ratio must be an integer >= 2.*got 2.5"):
        wald_pansharpening_pair(ms, pan, 2.5, "QB")
    with pytest.raises(InputError, match="ratio must be an integer"):
        hs_ms_pair(pavia, 1.5)
    with pytest.raises(InputError, match=r"MS/PAN size mismatch: the PAN is 64 x 60 pixels"):
        wald_pansharpening_pair(ms, pan[:, :60], 4, "QB")
    with pytest.raises(InputError, match="Sentinel-2A MSI has no panchromatic band"):
        synthesize_pansharpening_pair(pavia, "Sentinel-2", 4)
    with pytest.raises(InputError, match="does not cover bands 'Coastal'.*bands='covered'"):
        synthesize_pansharpening_pair(pavia, "WV2", 4)
    with pytest.raises(InputError, match=r"\(PAN band\).*does not cover band 'PAN'"):
        synthesize_pansharpening_pair(pavia, "WV2", 4, bands="covered")
    with pytest.raises(InputError, match="does not cover"):
        hs_ms_pair(pavia, 4, msi_sensor="QuickBird")
    with pytest.raises(InputError, match="has no wavelengths"):
        hs_ms_pair(np.ones((10, 8, 8)), 4)
    with pytest.raises(InputError, match="QuickBird has 4 MS gains"):
        wald_pansharpening_pair(np.ones((5, 16, 16)), pan, 4, "QB")
    with pytest.raises(InputError, match="no MTF gains for sensor 'EnMAP'"):      # (Sentinel-2 has gains now)
        wald_pansharpening_pair(ms, pan, 4, "EnMAP")
    with pytest.raises(InputError, match="no PAN image"):
        wald_pansharpening_pair(ms, None, 4, "QB")
    with pytest.raises(InputError, match="PAN must be one band"):
        wald_pansharpening_pair(ms, np.ones((2, 64, 64)), 4, "QB")
    with pytest.raises(InputError, match="non-finite"):
        bad = ms.copy()
        bad[0, 0, 0] = np.nan
        wald_pansharpening_pair(bad, pan, 4, "QB")
    with pytest.raises(InputError, match="smaller than the ratio"):
        hs_ms_pair(Scene(cube=np.ones((40, 3, 3)), wavelengths=np.linspace(430, 860, 40)), 4)
    with pytest.raises(InputError, match="wald-pansharpening: pass data=PATH"):
        simulate("wald-pansharpening")
    with pytest.raises(InputError, match="high is 8 x 6 pixels"):
        FusionPair(None, Scene(cube=np.zeros((3, 2, 2))), Scene(cube=np.zeros((1, 8, 6))), 4)
    with pytest.raises(InputError, match="kind must be one of"):
        FusionPair(None, Scene(cube=np.zeros((3, 2, 2))), Scene(cube=np.zeros((1, 8, 8))), 4, {}, "sr")
    with pytest.raises(InputError, match=r"\.npz, \.mat or \.h5"):
        save_fusion_pair(_pairs()["hs-ms"], "pair.tif")
