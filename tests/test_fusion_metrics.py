"""Golden tests for hysupp.metrics.fusion: values recomputed here from the formulas with explicit loops."""

from __future__ import annotations

import cmath
import math

import numpy as np
import pytest

from hysupp.errors import InputError, ParameterError, SensorWarning
from hysupp.metrics import fusion as fm


def _rng(seed=0):
    return np.random.default_rng(seed)


def _pair(L=3, H=6, W=5, seed=0, lo=1.0, hi=10.0):
    rng = _rng(seed)
    ref = rng.uniform(lo, hi, (L, H, W))
    fus = ref + rng.normal(0, 1.0, (L, H, W))
    return ref, fus


# ------------------------------------------------------------------ simple metrics
def test_rmse_psnr_ergas_golden():
    ref, fus = _pair()
    L, H, W = ref.shape
    se, mse_b, mu_b, max_b = 0.0, [], [], []
    for b in range(L):
        s = 0.0
        for i in range(H):
            for j in range(W):
                s += (ref[b, i, j] - fus[b, i, j]) ** 2
        se += s
        mse_b.append(s / (H * W))
        mu_b.append(sum(ref[b, i, j] for i in range(H) for j in range(W)) / (H * W))
        max_b.append(max(ref[b, i, j] for i in range(H) for j in range(W)))
    assert fm.rmse(ref, fus) == pytest.approx(math.sqrt(se / (L * H * W)), rel=1e-13)
    assert fm.rmse(ref, fus, per_band=True) == pytest.approx([math.sqrt(m) for m in mse_b], rel=1e-13)
    gmax = max(max_b)
    assert fm.psnr(ref, fus) == pytest.approx(np.mean([10 * math.log10(gmax ** 2 / m) for m in mse_b]), rel=1e-13)
    assert fm.psnr(ref, fus, peak="band") == pytest.approx(
        np.mean([10 * math.log10(p ** 2 / m) for p, m in zip(max_b, mse_b)]), rel=1e-13)
    assert fm.psnr(ref, fus, peak=2047) == pytest.approx(
        np.mean([10 * math.log10(2047 ** 2 / m) for m in mse_b]), rel=1e-13)
    expected = 100 / 4 * math.sqrt(sum(m / mu ** 2 for m, mu in zip(mse_b, mu_b)) / L)
    assert fm.ergas(ref, fus, ratio=4) == pytest.approx(expected, rel=1e-13)
    assert fm.ergas(ref, ref, ratio=4) == 0.0
    assert fm.psnr(ref, ref) == math.inf


def test_sam_golden_and_zero_pixels():
    ref, fus = _pair(L=4, H=3, W=4, seed=1)
    ref[:, 0, 0] = 0.0            # zero-norm pixel: excluded from the mean (toolbox SAM.m)
    angles = []
    for i in range(3):
        for j in range(4):
            a, b = ref[:, i, j], fus[:, i, j]
            na = math.sqrt(sum(v * v for v in a))
            nb = math.sqrt(sum(v * v for v in b))
            if na * nb == 0:
                continue
            c = sum(x * y for x, y in zip(a, b)) / (na * nb)
            angles.append(math.acos(max(-1.0, min(1.0, c))))
    assert len(angles) == 11
    assert fm.sam(ref, fus) == pytest.approx(math.degrees(sum(angles) / len(angles)), rel=1e-12)
    amap = fm.sam(ref, fus, per_pixel=True)
    assert np.isnan(amap[0, 0]) and amap.shape == (3, 4)
    assert fm.sam(ref, ref) == 0.0
    assert fm.sam(ref, 3.0 * ref) == pytest.approx(0.0, abs=1e-6)


def test_cc_golden():
    ref, fus = _pair(seed=2)
    vals = []
    for b in range(ref.shape[0]):
        x, y = ref[b].ravel().tolist(), fus[b].ravel().tolist()
        mx, my = sum(x) / len(x), sum(y) / len(y)
        sxy = sum((a - mx) * (c - my) for a, c in zip(x, y))
        sxx = sum((a - mx) ** 2 for a in x)
        syy = sum((c - my) ** 2 for c in y)
        vals.append(sxy / math.sqrt(sxx * syy))
    assert fm.cc(ref, fus) == pytest.approx(np.mean(vals), rel=1e-12)
    assert fm.cc(ref, 2 * ref + 5) == pytest.approx(1.0, rel=1e-12)


def _sobel_mag_loops(img):
    inner = img[1:-1, 1:-1]
    h, w = inner.shape
    k = [[1, 2, 1], [0, 0, 0], [-1, -2, -1]]
    out = np.zeros((h, w))
    for i in range(h):
        for j in range(w):
            gy = gx = 0.0
            for a in range(3):
                for b in range(3):
                    ii, jj = i + a - 1, j + b - 1
                    v = inner[ii, jj] if 0 <= ii < h and 0 <= jj < w else 0.0   # zero padding
                    gy += k[a][b] * v
                    gx += k[b][a] * v
            out[i, j] = math.sqrt(gy * gy + gx * gx)
    return out


def test_scc_sobel_golden():
    ref, fus = _pair(L=2, H=7, W=6, seed=3)
    gr = np.stack([_sobel_mag_loops(ref[b]) for b in range(2)])
    gf = np.stack([_sobel_mag_loops(fus[b]) for b in range(2)])
    expected = float((gr * gf).sum() / math.sqrt((gr ** 2).sum() * (gf ** 2).sum()))
    assert fm.scc(ref, fus) == pytest.approx(expected, rel=1e-12)
    assert fm.scc(ref, ref) == pytest.approx(1.0, rel=1e-14)
    assert -1.0 <= fm.scc(ref, fus, filter="laplacian") <= 1.0
    with pytest.raises(ParameterError):
        fm.scc(ref, fus, filter="prewitt")


def _uiqi_loops(x, y):
    n = x.size
    xs, ys = x.ravel().tolist(), y.ravel().tolist()
    mx, my = sum(xs) / n, sum(ys) / n
    vx = sum((a - mx) ** 2 for a in xs) / n
    vy = sum((b - my) ** 2 for b in ys) / n
    cxy = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / n
    dv, dm = vx + vy, mx * mx + my * my
    if dv == 0:
        return 2 * mx * my / dm if dm != 0 else 1.0
    return 4 * cxy * mx * my / (dv * dm)


def test_q_index_sliding_golden_and_degenerate_window():
    ref, fus = _pair(L=2, H=7, W=6, seed=4)
    B = 4
    vals = []
    for b in range(2):
        m = [_uiqi_loops(ref[b, i:i + B, j:j + B], fus[b, i:i + B, j:j + B])
             for i in range(7 - B + 1) for j in range(6 - B + 1)]
        vals.append(np.mean(m))
    assert fm.q_index(ref, fus, block=B) == pytest.approx(np.mean(vals), rel=1e-10)
    # non-overlapping blocks
    m = [_uiqi_loops(ref[0, i:i + 3, j:j + 3], fus[0, i:i + 3, j:j + 3]) for i in (0, 3) for j in (0, 3)]
    assert fm.q_index(ref[0], fus[0], block=3, stride=3) == pytest.approx(np.mean(m), rel=1e-10)
    # flat windows (integers: exact sums): 2 mu_x mu_y / (mu_x^2 + mu_y^2) as img_qi.m
    flat_x, flat_y = np.full((4, 4), 3.0), np.full((4, 4), 5.0)
    assert fm.q_index(flat_x, flat_y, block=4) == pytest.approx(30 / 34, rel=1e-14)
    assert fm.q_index(np.zeros((4, 4)), np.zeros((4, 4)), block=4) == 1.0
    assert fm.uiqi is fm.q_index


# ------------------------------------------------------------------ Q2n
def _q2n_complex_loops(ref, fus, B):
    """Q2n for 2 bands with Python complex numbers (z = band0 + i band1), explicit mirror padding."""
    _, H, W = ref.shape
    ny, nx = math.ceil(H / B), math.ceil(W / B)

    def mirror(n, total):
        idx = list(range(n))
        k = n - 1
        while len(idx) < total:
            idx.append(k)
            k -= 1
        return idx

    iy, ix = mirror(H, ny * B), mirror(W, nx * B)
    vals = []
    for by in range(ny):
        for bx in range(nx):
            rows, cols = iy[by * B:(by + 1) * B], ix[bx * B:(bx + 1) * B]
            N = B * B
            z1, z2 = [], []
            # per band normalisation with the reference block's mean and (N-1) std
            stats = []
            for c in range(2):
                v = [ref[c, i, j] for i in rows for j in cols]
                mu = sum(v) / N
                sd = math.sqrt(sum((a - mu) ** 2 for a in v) / (N - 1))
                stats.append((mu, sd))
            for i in rows:
                for j in cols:
                    a = [(ref[c, i, j] - stats[c][0]) / stats[c][1] + 1 for c in range(2)]
                    f = [(fus[c, i, j] - stats[c][0]) / stats[c][1] + 1 for c in range(2)]
                    z1.append(complex(a[0], a[1]))
                    z2.append(complex(f[0], f[1]))
            m1, m2 = sum(z1) / N, sum(z2) / N
            k = N / (N - 1)
            cov = k * (sum(a * b.conjugate() for a, b in zip(z1, z2)) / N - m1 * m2.conjugate())
            v1 = k * (sum(abs(a) ** 2 for a in z1) / N - abs(m1) ** 2)
            v2 = k * (sum(abs(b) ** 2 for b in z2) / N - abs(m2) ** 2)
            q = 4 * abs(cov) * abs(m1) * abs(m2) / ((v1 + v2) * (abs(m1) ** 2 + abs(m2) ** 2))
            vals.append(q)
    return float(np.mean(vals))


def test_q2n_two_bands_equals_complex_formula():
    ref, fus = _pair(L=2, H=10, W=9, seed=5, lo=50, hi=500)
    fus = ref + _rng(6).normal(0, 40.0, ref.shape)
    expected = _q2n_complex_loops(ref, fus, 4)
    assert fm.q2n(ref, fus, block=4) == pytest.approx(expected, rel=1e-10)
    v, qmap = fm.q2n(ref, fus, block=4, return_map=True)
    assert qmap.shape == (3, 3) and v == pytest.approx(qmap.mean(), rel=1e-15)


def test_hypercomplex_product_complex_case():
    rng = _rng(7)
    x, y = rng.normal(size=(2, 5)), rng.normal(size=(2, 5))
    p = fm.hypercomplex_multiply(x, y)
    ref = (x[0] + 1j * x[1]) * (y[0] + 1j * y[1])
    assert np.allclose(p[0], ref.real) and np.allclose(p[1], ref.imag)
    with pytest.raises(InputError):
        fm.hypercomplex_multiply(np.ones(3), np.ones(3))


def test_q2n_identity_scaling_and_padding():
    rng = _rng(8)
    ref = rng.uniform(100, 2000, (5, 40, 37))
    fus = ref + rng.normal(0, 80, ref.shape)
    assert fm.q2n(ref, ref) == pytest.approx(1.0, abs=1e-12)
    v = fm.q2n(ref, fus)
    assert 0 < v < 1
    # invariant to a common positive scaling (DN vs [0, 1] reflectance): float64, no uint16 rounding
    assert fm.q2n(ref / 2047.0, fus / 2047.0) == pytest.approx(v, rel=1e-12)
    assert fm.q2n(1e3 * ref, 1e3 * fus) == pytest.approx(v, rel=1e-12)
    # 5 bands are padded with 3 zero bands: the same as giving the zero bands explicitly
    z = np.zeros((3,) + ref.shape[1:])
    assert fm.q2n(np.concatenate([ref, z]), np.concatenate([fus, z])) == pytest.approx(v, rel=1e-12)
    # the toolbox's uint16 rounding breaks the invariance (documented quirk)
    rounded = [np.clip(np.round(a), 0, 65535) for a in (ref, fus)]      # uint16 saturates at 0
    assert fm.q2n(ref, fus, toolbox_uint16=True) == pytest.approx(fm.q2n(*rounded), rel=1e-12)
    assert abs(fm.q2n(ref / 2047.0, fus / 2047.0, toolbox_uint16=True) - v) > 1e-3


def test_q2n_flat_block_mean_bias():
    # zero total variance in a block: the mean-bias term alone (onions_quality.m)
    ref = np.full((2, 4, 4), 3.0)
    fus = np.full((2, 4, 4), 3.0)
    assert fm.q2n(ref, fus, block=4) == pytest.approx(1.0, abs=1e-12)


# ------------------------------------------------------------------ full resolution
def _blocks_q_loops(x, y, S):
    H, W = x.shape
    return float(np.mean([_uiqi_loops(x[i:i + S, j:j + S], y[i:i + S, j:j + S])
                          for i in range(0, H, S) for j in range(0, W, S)]))


def test_d_lambda_d_s_golden():
    rng = _rng(9)
    r, S = 2, 4
    ms = rng.uniform(100, 200, (3, 4, 4))
    ms_up = np.repeat(np.repeat(ms, r, axis=1), r, axis=2) + rng.normal(0, 5, (3, 8, 8))
    fus = ms_up + rng.normal(0, 10, (3, 8, 8))
    pan = fus.mean(axis=0) + rng.normal(0, 3, (8, 8))
    acc = 0.0
    for i in range(2):
        for j in range(i + 1, 3):
            acc += abs(_blocks_q_loops(fus[i], fus[j], S) - _blocks_q_loops(ms_up[i], ms_up[j], S))
    dl = acc / 3
    assert fm.d_lambda(fus, ms, ratio=r, ms_up=ms_up, block=S) == pytest.approx(dl, rel=1e-10)
    # paper convention: MS at its scale, blocks S / ratio
    acc = 0.0
    for i in range(2):
        for j in range(i + 1, 3):
            acc += abs(_blocks_q_loops(fus[i], fus[j], S) - _blocks_q_loops(ms[i], ms[j], S // r))
    assert fm.d_lambda(fus, ms, ratio=r, block=S, convention="paper") == pytest.approx(acc / 3, rel=1e-10)
    from hysupp.physics.sampling import ImresizeBicubic

    p_lr = ImresizeBicubic(r)(pan)
    ds = np.mean([abs(_blocks_q_loops(fus[b], pan, S) - _blocks_q_loops(ms[b], p_lr, S // r)) for b in range(3)])
    assert fm.d_s(fus, ms, pan, ratio=r, block=S, convention="paper") == pytest.approx(ds, rel=1e-10)
    v, a, b = fm.qnr(fus, ms, pan, ratio=r, block=S, ms_up=ms_up, return_components=True)
    assert a == pytest.approx(dl, rel=1e-10) and v == pytest.approx((1 - a) * (1 - b), rel=1e-14)


def test_d_lambda_zero_for_pixel_replication_paper_convention():
    # block statistics of a nearest-upsampled image equal the LR block statistics
    ms = _rng(10).uniform(100, 200, (4, 8, 8))
    fus = np.repeat(np.repeat(ms, 4, axis=1), 4, axis=2)
    assert fm.d_lambda(fus, ms, ratio=4, block=16, convention="paper") == pytest.approx(0.0, abs=1e-12)


def test_qnr_perfect_case():
    # fused = the interpolated MS (no spectral change), constant PAN (its degraded version is itself)
    from hysupp.physics.sampling import interp23tap

    ms = _rng(11).uniform(100, 200, (4, 8, 8))
    fus = interp23tap(ms, 4)
    pan = np.full((32, 32), 700.0)
    v, dl, ds = fm.qnr(fus, ms, pan, ratio=4, block=16, return_components=True)
    assert (v, dl, ds) == (pytest.approx(1.0, abs=1e-12), pytest.approx(0.0, abs=1e-12), pytest.approx(0.0, abs=1e-12))


def test_hqnr_khan_and_reprojection():
    from hysupp.physics.mtf import mtf_blur
    from hysupp.physics.sampling import interp23tap

    # constant bands: the MTF keeps them and decimation gives the MS back
    flat = np.stack([np.full((8, 8), v) for v in (100.0, 150.0, 200.0, 250.0)])
    low = fm.reproject(np.repeat(np.repeat(flat, 4, axis=1), 4, axis=2), ratio=4, sensor="QB")
    assert low.shape == flat.shape and np.allclose(low, flat)
    # Khan's D_lambda (toolbox convention) = 1 - Q2n(interpolated MS, MTF-filtered fused on the PAN grid)
    rng = _rng(17)
    ms = rng.uniform(100, 200, (4, 8, 8))
    up = interp23tap(ms, 4)
    fus = up + rng.normal(0, 3, up.shape)
    pan = fus.mean(axis=0)
    filt = mtf_blur("QB", 4, design="toolbox")(fus)
    v, dl, ds = fm.hqnr(fus, ms, pan, ratio=4, sensor="QB", block=16, return_components=True)
    assert dl == pytest.approx(1 - fm.q2n(up, filt, block=16), rel=1e-12)
    assert ds == pytest.approx(fm.d_s(fus, ms, pan, ratio=4, block=16), rel=1e-14)
    assert v == pytest.approx((1 - dl) * (1 - ds), rel=1e-14)
    assert 0.0 <= dl < 1.0 and np.isfinite(v)
    # a fused image with a spectral error is penalised
    bad = fus * np.array([1.0, 1.3, 0.7, 1.0])[:, None, None] + _rng(12).normal(0, 5, fus.shape)
    assert fm.d_lambda_khan(bad, ms, ratio=4, sensor="QB", block=16) > 0.01


def _d_rho_loops(f, p, w):
    H, W = p.shape
    S = 2 * w

    def pad(a):
        return np.pad(a, w)

    def local_mean(a):
        ap = pad(a)
        return np.array([[ap[i + 1:i + 1 + S, j + 1:j + 1 + S].mean() for j in range(W)] for i in range(H)])

    def wsum(a):
        ap = pad(a)
        return np.array([[ap[i + 1:i + 1 + S, j + 1:j + 1 + S].sum() for j in range(W)] for i in range(H)])

    out = []
    for b in range(f.shape[0]):
        fc, pc = f[b] - local_mean(f[b]), p - local_mean(p)
        sxy = wsum(fc * pc)
        sxx = np.maximum(wsum(fc * fc), 1e-20)
        syy = np.maximum(wsum(pc * pc), 1e-20)
        out.append(np.clip(sxy / (np.sqrt(sxx * syy) + 1e-20), -1, 1))
    return float(np.mean(1 - np.stack(out)))


def test_d_rho_golden():
    rng = _rng(13)
    pan = rng.uniform(0, 1, (9, 8))
    fus = np.stack([pan + 0.3 * rng.uniform(0, 1, (9, 8)), rng.uniform(0, 1, (9, 8))])
    assert fm.d_rho(fus, pan, ratio=4) == pytest.approx(_d_rho_loops(fus, pan, 2), rel=1e-10)
    assert fm.d_rho(fus, pan, ratio=2) == pytest.approx(_d_rho_loops(fus, pan, 1), rel=1e-10)


# ------------------------------------------------------------------ entry point
def test_evaluate_fusion_rr_records_conventions():
    rng = _rng(14)
    ref = rng.uniform(0, 2047, (8, 64, 64))
    fus = ref + rng.normal(0, 30, ref.shape)
    fus[0, 0, 0] = 5000.0
    rec = fm.evaluate_fusion(ref, fus, ratio=4, border=5, clip=True, L=11)
    c = rec["conventions"]
    assert c["border"] == 5 and c["clip"] == [0.0, 2048.0] and c["evaluated_shape"] == [8, 55, 55]
    rr = fm.crop_border(ref, 5)
    ff = fm.crop_border(np.clip(fus, 0, 2048), 5)
    assert rec["q8"] == rec["q2n"] == pytest.approx(fm.q2n(rr, ff), rel=1e-14)
    assert rec["sam_deg"] == pytest.approx(fm.sam(rr, ff)) and rec["ergas"] == pytest.approx(fm.ergas(rr, ff, ratio=4))
    for k in ("rmse", "psnr_db", "cc", "scc", "q", "ssim"):
        assert np.isfinite(rec[k])
    same = fm.evaluate_fusion(ref, ref, ratio=4, include_ssim=False)
    assert same["q8"] == pytest.approx(1.0, abs=1e-12) and same["sam_deg"] == 0.0 and same["ergas"] == 0.0
    assert "definitions" in same["conventions"] and same["conventions"]["clip"] is None


def test_evaluate_fusion_fr():
    from hysupp.physics.sampling import interp23tap

    rng = _rng(15)
    ms = rng.uniform(100, 200, (4, 16, 16))
    fus = interp23tap(ms, 4) + rng.normal(0, 2, (4, 64, 64))
    pan = fus.mean(axis=0) + rng.normal(0, 2, (64, 64))
    rec = fm.evaluate_fusion(None, fus, ratio=4, protocol="fr", ms=ms, pan=pan, sensor="QB")
    for k in ("d_lambda", "d_s", "qnr", "d_rho", "d_lambda_khan", "hqnr", "reprojection_q2n",
              "reprojection_sam_deg", "reprojection_ergas"):
        assert np.isfinite(rec[k]), k
    assert rec["qnr"] == pytest.approx((1 - rec["d_lambda"]) * (1 - rec["d_s"]))
    assert rec["hqnr"] == pytest.approx((1 - rec["d_lambda_khan"]) * (1 - rec["d_s"]))
    assert rec["conventions"]["sensor"] == "QB" and rec["conventions"]["fr_convention"] == "toolbox"
    with pytest.warns(SensorWarning, match="no sensor or gnyq given"):
        no_sensor = fm.evaluate_fusion(None, fus, ratio=4, protocol="fr", ms=ms, pan=pan)
    assert "hqnr" not in no_sensor and no_sensor["conventions"]["mtf_indices"].startswith("skipped")
    generic = fm.evaluate_fusion(None, fus, ratio=4, protocol="fr", ms=ms, pan=pan, gnyq=0.29)
    assert np.isfinite(generic["hqnr"]) and "mtf_indices" not in generic["conventions"]


def test_validation_errors():
    ref, fus = _pair()
    with pytest.raises(InputError):
        fm.rmse(ref, fus[:, :-1])
    with pytest.raises(InputError):
        fm.sam(np.zeros((2, 2, 2, 2)), np.zeros((2, 2, 2, 2)))
    with pytest.raises(ParameterError):
        fm.psnr(ref, fus, peak="max")
    with pytest.raises(ParameterError):
        fm.ergas(ref, fus, ratio=0)
    with pytest.raises(ParameterError):
        fm.evaluate_fusion(ref, fus, ratio=4, protocol="xx")
    with pytest.raises(ParameterError):
        fm.evaluate_fusion(None, fus, ratio=4, protocol="fr")
    with pytest.raises(ParameterError):
        fm.clip_values(ref, True, L=None)
    with pytest.raises(InputError):
        fm.d_lambda(np.ones((2, 30, 30)), np.ones((2, 15, 15)), ratio=2, block=32)   # not multiple of block
    with pytest.raises(InputError):
        fm.d_lambda(np.ones((2, 32, 32)), np.ones((2, 10, 10)), ratio=4)            # wrong MS size
    with pytest.raises(ParameterError):
        fm.reproject(np.ones((2, 8, 8)), ratio=4)                                    # no sensor / gains
    with pytest.raises(InputError):
        fm.q_index(ref, fus, block=32)


def test_complex_helper_sanity():
    # the golden complex Q2n helper itself: identical images -> 1
    ref, _ = _pair(L=2, H=8, W=8, seed=16)
    assert _q2n_complex_loops(ref, ref, 4) == pytest.approx(1.0, abs=1e-12)
    assert cmath.isclose(complex(1, 2) * complex(1, 2).conjugate(), 5)


def test_toolbox_mtf_gain_option():
    # genMTF.m kernels are not renormalised: their sums, as printed by the toolbox under Octave
    from hysupp.physics.mtf import toolbox_dc_gain

    assert toolbox_dc_gain(0.35, 4) == pytest.approx(0.99889927, abs=1e-8)
    assert toolbox_dc_gain(0.27, 4) == pytest.approx(0.99863111, abs=1e-8)
    x = _rng(18).uniform(100, 200, (2, 32, 32))
    a = fm.reproject(x, ratio=4, gnyq=[0.35, 0.27])
    b = fm.reproject(x, ratio=4, gnyq=[0.35, 0.27], mtf_gain="toolbox")
    assert np.allclose(b, a * np.array([0.99889927, 0.99863111])[:, None, None], rtol=1e-7)
    with pytest.raises(ParameterError):
        fm.reproject(x, ratio=4, gnyq=0.3, mtf_gain="toolbox", mtf_design="exact")


def test_full_resolution_block_indices_on_any_image_size():
    # a 75 x 75 PAN at ratio 3 (25 x 25 MS): the 32-pixel blocks do not tile it. Default: the top-left whole
    # blocks (64 x 64), i.e. the same values as on the cropped images; 'pad': symmetric extension; 'error': refuse
    from hysupp.physics.sampling import interp23tap

    rng = _rng(21)
    ms = rng.uniform(100, 200, (3, 25, 25))
    pan = rng.uniform(100, 200, (75, 75))
    up = interp23tap(ms, 3)
    fus = up + rng.normal(0, 3, up.shape)
    dl = fm.d_lambda(fus, ms, ratio=3, ms_up=up)
    expected = np.mean([abs(fm._blocks_q(fus[i, :64, :64], fus[j, :64, :64], 32)
                            - fm._blocks_q(up[i, :64, :64], up[j, :64, :64], 32))
                        for i, j in ((0, 1), (0, 2), (1, 2))])
    assert dl == pytest.approx(expected, abs=1e-14)
    ds = fm.d_s(fus, ms, pan, ratio=3, ms_up=up)
    p_ref = interp23tap(fm._degrade_pan(pan, 3, "imresize", None, "toolbox"), 3)
    exp_ds = np.mean([abs(fm._blocks_q(fus[b, :64, :64], pan[:64, :64], 32)
                          - fm._blocks_q(up[b, :64, :64], p_ref[:64, :64], 32)) for b in range(3)])
    assert ds == pytest.approx(exp_ds, abs=1e-14)
    padded = fm.d_lambda(fus, ms, ratio=3, ms_up=up, block_edges="pad")
    assert 0 <= padded < 1 and padded != dl
    with pytest.raises(InputError, match="multiples of the block size 32"):
        fm.d_lambda(fus, ms, ratio=3, ms_up=up, block_edges="error")
    rec = fm.evaluate_fusion(None, fus, ratio=3, protocol="fr", ms=ms, pan=pan, sensor="WV2",
                             gnyq=[0.3, 0.3, 0.3])
    assert rec["d_lambda"] == pytest.approx(dl, abs=1e-14) and rec["d_s"] == pytest.approx(ds, abs=1e-14)
    assert rec["conventions"]["fr_block_edges"] == "crop" and rec["conventions"]["fr_block_area"] == [64, 64]
    assert np.isfinite(rec["hqnr"]) and np.isfinite(rec["reprojection_q2n"])


def test_evaluate_fusion_records_the_uint16_q2n_option():
    ref, fus = _pair(L=4, H=40, W=40, seed=22, lo=100.0, hi=2000.0)
    a = fm.evaluate_fusion(ref, fus, ratio=4, include_ssim=False)
    b = fm.evaluate_fusion(ref, fus, ratio=4, include_ssim=False, q2n_uint16=True)
    assert a["conventions"]["q2n_uint16"] is False and b["conventions"]["q2n_uint16"] is True
    assert b["q4"] == pytest.approx(fm.q2n(ref, fus, toolbox_uint16=True), abs=1e-15)
    assert b["q4"] != a["q4"]
