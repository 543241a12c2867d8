"""Pansharpening methods (hysupp.fusion.pansharpening) and the hysupp fuse path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import hysupp
from hysupp.cli import main
from hysupp.errors import InputError
from hysupp.fusion.pansharpening import common as C
from hysupp.methods import available, get_method
from hysupp.physics.sampling import interp23tap

# the scene-trained networks (hysupp.fusion.pansharpening.nets) train for minutes by default: tests/test_fusion_nets.py
METHODS = [cls.name for cls in available("pansharpening") if not hasattr(cls, "published_recipe")]


@pytest.fixture(scope="module")
def small_pair():
    rng = np.random.default_rng(0)
    base = rng.random((64, 64))
    ms_hr = np.stack([50 + 20 * k + 30 * base + rng.random((64, 64)) for k in range(4)])
    ms = ms_hr.reshape(4, 16, 4, 16, 4).mean(axis=(2, 4))
    pan = ms_hr.mean(axis=0)
    return ms, pan


@pytest.mark.parametrize("name", METHODS)
def test_every_method_runs_and_keeps_shapes(name, small_pair):
    ms, pan = small_pair
    res = get_method(name, "pansharpening")().fuse(ms, pan, ratio=4, sensor="QB")
    assert res.fused.shape == (4, 64, 64) and np.isfinite(res.fused).all()
    # the fused image is closer to the PAN detail than the interpolated MS is
    assert float(np.abs(res.fused).mean()) == pytest.approx(float(ms.mean()), rel=0.2)


def test_exp_is_the_23_tap_interpolation(small_pair):
    ms, pan = small_pair
    np.testing.assert_allclose(get_method("EXP", "pansharpening")().fuse(ms, pan, ratio=4).fused,
                               interp23tap(ms, 4), rtol=0, atol=1e-12)


def test_gihs_adds_the_same_detail_to_every_band_and_bt_scales_them(small_pair):
    ms, pan = small_pair
    up = C.expand(ms, 4)
    d = get_method("GIHS", "pansharpening")().fuse(ms, pan, ratio=4).fused - up
    np.testing.assert_allclose(d, np.broadcast_to(d[0], d.shape), atol=1e-9)
    q = get_method("BT", "pansharpening")().fuse(ms, pan, ratio=4).fused / up
    np.testing.assert_allclose(q, np.broadcast_to(q[0], q.shape), rtol=1e-9)


def test_wavelet_lowpass_matches_its_effective_kernel_inside_the_image():
    h0 = np.array([1, 4, 6, 4, 1]) / 16.0
    x = np.random.default_rng(1).random((1, 40, 40))
    for levels in (1, 2):
        k = np.array([1.0])
        for _ in range(levels):
            k = np.convolve(np.convolve(k, h0), h0)
        from scipy.ndimage import convolve1d

        expected = convolve1d(convolve1d(x, k, axis=1), k, axis=2)
        got = C.ndwt_lowpass(x, levels)
        m = 8 * levels + 1
        np.testing.assert_allclose(got[:, m:-m, m:-m], expected[:, m:-m, m:-m], atol=1e-12)
    np.testing.assert_allclose(C.ndwt_lowpass(np.ones((2, 9, 11)), 2), 1.0, atol=1e-12)


def test_glp_lowpass_has_toolbox_dc_gain_and_sensor_gains(small_pair):
    g, used = C.sensor_gains("WV2", 8)
    assert used == "WV2" and g[-1] == 0.27
    _, used4 = C.sensor_gains("WV2", 4)
    assert used4.startswith("generic")
    # the toolbox's fwind1 kernels are not renormalised: DC gain 0.99890 at gain 0.35, ratio 4, 41 taps
    dc = C.toolbox_dc_gain(0.3, 4)
    assert 0.998 < dc < 1.0
    np.testing.assert_allclose(C.toolbox_dc_gain(0.35, 4), 0.9988992738662437, rtol=1e-12)
    np.testing.assert_allclose(C.glp_lowpass(np.full((2, 32, 32), 3.0), 4, np.array([0.3, 0.3])), 3.0 * dc, atol=1e-9)


def test_input_errors(small_pair):
    ms, pan = small_pair
    with pytest.raises(InputError, match="expected ratio 4"):
        get_method("GSA", "pansharpening")().fuse(ms, pan[:60], ratio=4)
    with pytest.raises(InputError, match="integer >= 2"):
        get_method("MTF-GLP", "pansharpening")().fuse(ms[:, :15, :15], pan[:45, :45], ratio=3.5)
    with pytest.raises(InputError, match="block_size"):
        get_method("BDSD", "pansharpening")(block_size=6).fuse(ms, pan, ratio=4)
    with pytest.raises(InputError, match="one band"):
        get_method("GS", "pansharpening")().fuse(ms, np.stack([pan, pan]), ratio=4)


def test_mtf_methods_beat_exp_on_a_wv2_crop(shared_data):
    from hysupp.metrics.fusion import evaluate_fusion
    from hysupp.simulate.fusion import wald_pansharpening_pair

    s = hysupp.load(shared_data / "pansharpening_wv2" / "imgWV2.mat")
    pair = wald_pansharpening_pair(s.cube[:, :128, :128], s.extras["pan"][0, :512, :512], 4, "WV2")
    ref = pair.reference.cube

    def score(name):
        f = get_method(name, "pansharpening")().fuse(pair.low.cube, pair.high.cube, ratio=4, sensor="WV2").fused
        m = evaluate_fusion(ref, f, ratio=4, include_ssim=False)
        return m["q2n"], m["sam_deg"], m["ergas"], m["scc"]

    q, sam, ergas, scc = score("EXP")
    for name in ("MTF-GLP", "MTF-GLP-HPM", "AWLP"):
        q_m, sam_m, ergas_m, scc_m = score(name)
        assert q_m > q and sam_m < sam and ergas_m < ergas and scc_m > scc, name


def test_cli_fuse_rr_and_fr(shared_data, tmp_path):
    from hysupp.io import save

    res = CliRunner().invoke(main, ["fuse", "--method", "MTF-GLP", "--data",
                                    str(shared_data / "pansharpening_wv2" / "imgWV2.mat"), "--protocol", "rr",
                                    "--out", str(tmp_path / "rr"), "--json"])
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)
    assert rec["protocol"]["name"] == "rr" and rec["protocol"]["sensor"] == "WV2"
    assert rec["metrics"]["q8"] > 0.8 and (tmp_path / "rr" / "fused.tif").exists()
    fused = hysupp.load(tmp_path / "rr" / "fused.tif")
    assert fused.shape == (8, 320, 320)
    # full resolution from separate MS and PAN files
    rng = np.random.default_rng(2)
    save(100 + rng.random((4, 16, 16)), tmp_path / "ms.npy")
    np.save(tmp_path / "pan.npy", 100 + rng.random((64, 64)))
    res = CliRunner().invoke(main, ["fuse", "--method", "GSA", "--ms", str(tmp_path / "ms.npy"), "--pan",
                                    str(tmp_path / "pan.npy"), "--ratio", "4", "--out", str(tmp_path / "fr")])
    assert res.exit_code == 0, res.output
    assert "qnr" in res.output and (tmp_path / "fr" / "quicklook.png").exists()
    again = CliRunner().invoke(main, ["fuse", "--method", "GSA", "--ms", str(tmp_path / "ms.npy"), "--pan",
                                      str(tmp_path / "pan.npy"), "--ratio", "4", "--out", str(tmp_path / "fr")])
    assert again.exit_code != 0 and "exists" in again.output
    bad = CliRunner().invoke(main, ["fuse", "--method", "FCLS", "--ms", str(tmp_path / "ms.npy"), "--pan",
                                    str(tmp_path / "pan.npy"), "--ratio", "4"])
    assert bad.exit_code == 2 and "pansharpening" in bad.output


def test_glp_lowpass_affine_equals_glp_of_affine_images():
    rng = np.random.default_rng(3)
    pan = rng.random((1, 32, 32))
    a, b = np.array([0.5, 2.0, -1.0]), np.array([1.0, -3.0, 0.25])
    gains = np.array([0.35, 0.35, 0.27])
    direct = C.glp_lowpass(pan * a[:, None, None] + b[:, None, None], 4, gains)
    np.testing.assert_allclose(C.glp_lowpass_affine(pan, a, b, 4, gains), direct, atol=1e-12)


def test_bdsd_pc_respects_sign_constraints(small_pair):
    ms, pan = small_pair
    res = get_method("BDSD-PC", "pansharpening")().fuse(ms, pan, ratio=4, sensor="QB")
    g = res.info["gamma"]
    assert g.shape == (5, 4) and (g[0] >= 0).all() and (g[1:] <= 1e-12).all()


def test_mf_pyramid_commutes_with_increasing_affine_maps():
    from hysupp.fusion.pansharpening.morphological import half_gradient_pyramid_lowpass

    x = np.random.default_rng(1).random((1, 16, 16))
    low = half_gradient_pyramid_lowpass(x, 2)
    np.testing.assert_allclose(half_gradient_pyramid_lowpass(3 * x + 2, 2), 3 * low + 2, atol=1e-12)
    np.testing.assert_allclose(half_gradient_pyramid_lowpass(np.full((1, 16, 16), 5.0), 2), 5.0, atol=1e-12)


def test_tv_operators_preserve_constants_and_recover_on_flat_scene():
    from hysupp.fusion.pansharpening import variational as V

    D, U = V._down_matrix(32, 4), V._up_matrix(8, 4)
    np.testing.assert_allclose(D @ np.ones(32), 1.0, atol=1e-12)
    np.testing.assert_allclose(U @ np.ones(8), 1.0, atol=1e-12)
    ms, pan = np.full((2, 8, 8), 3.0), np.full((32, 32), 3.0)
    out = V.TV(weights="0.5, 0.5", n_iter=200).fuse(ms, pan, ratio=4).fused
    np.testing.assert_allclose(out, 3.0, rtol=1e-3)
    with pytest.raises(InputError):
        V.TV(weights="1.0").fuse(ms, pan, ratio=4)


def test_kmeans_labels_separate_well_separated_groups():
    from hysupp.fusion.pansharpening.cs_adaptive import kmeans_labels

    x = np.ones((2, 6, 6))
    x[:, :3] = 10.0
    lab = kmeans_labels(x, 2, seed=1)
    assert len(np.unique(lab)) == 2 and len(np.unique(lab[:3])) == 1 and lab[0, 0] != lab[5, 5]


def test_indusion_filter_bank_preserves_constants_and_grid():
    from hysupp.fusion.pansharpening import indusion as ind

    np.testing.assert_allclose(ind.cdf97_up2(ind.cdf97_down2(np.full((1, 16, 16), 2.0))), 2.0, atol=1e-9)
    # MS pixel k sits at PAN pixel 4k + 2: an impulse at MS (1, 1) peaks at PAN (6, 6)
    x = np.zeros((1, 8, 8))
    x[0, 1, 1] = 1.0
    up = x
    for p in ind._phases(2):
        up = ind.cdf97_up2(up, p)
    assert np.unravel_index(np.argmax(up[0]), up[0].shape) == (6, 6)
