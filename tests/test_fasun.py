"""FaSUn, SUnS and MiSiSUn (hysupp.unmixing.semisupervised.fasun).

Fast checks on a small synthetic scene (random positive library, 3 true atoms, noise-free). The
DC1 parity with FUnmix at the reference defaults (T 10000) is in benchmarks/bench_fasun.py.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hysupp.errors import HysuppError, InputError, ParameterError
from hysupp.methods.registry import get_method
from hysupp.metrics.unmixing import library_sre
from hysupp.nn.device import flush_denormal
from hysupp.unmixing.semisupervised.fasun import FaSUn, MiSiSUn, SUnS, fasun_solve


def _scene(seed: int = 0, L: int = 60, M: int = 40, p: int = 3, N: int = 500):
    rng = np.random.default_rng(seed)
    D = rng.uniform(0.1, 1.0, (L, M))
    idx = rng.choice(M, p, replace=False)
    A = rng.dirichlet(np.full(p, 0.5), N).T
    return D[:, idx] @ A, D, idx, A


def _sre(res, A, idx) -> float:
    X = res.library_coefficients.astype(np.float64) @ res.abundances.astype(np.float64)
    return library_sre(A, X, idx)["sre_index"]


@pytest.mark.parametrize("cls", [FaSUn, SUnS, MiSiSUn])
def test_noise_free_recovery_and_shapes(cls):
    Y, D, idx, A = _scene()
    res = cls(T=300, device="cpu").unmix(Y, D, p=3)
    assert res.abundances.shape == (3, 500)
    assert res.endmembers.shape == (60, 3)
    assert res.library_coefficients.shape == (40, 3)
    assert res.abundances.dtype == np.float32 and not res.over_library
    assert _sre(res, A, idx) >= 30.0
    np.testing.assert_allclose(res.endmembers, D @ res.library_coefficients, rtol=1e-5, atol=1e-6)
    info = res.info
    assert info["iterations"] == 300 and info["device"] == "cpu" and info["dtype"] == "float32"
    assert info["wall_time"] > 0 and len(info["objective"]) == 3  # every 100 iterations


@pytest.mark.parametrize("cls, T", [(FaSUn, 2000), (SUnS, 3000)])
def test_dc1_noise_free(cls, T):
    """Noise-free DC1 (224 bands, 75 x 75 px, 240 atoms): >= 30 dB on the true-atom rows already at
    T = 2000 (FaSUn, ~33 dB) / 3000 (SUnS, ~32 dB); the default T = 10000 gives ~43 / ~46 dB."""
    import hysupp

    scene = hysupp.simulate("dc1", dtype="float64")
    Y = scene.pixels().astype(np.float32)
    A = scene.abundances.reshape(scene.abundances.shape[0], -1)
    res = cls(T=T, device="cpu", history_every=1000).unmix(Y, scene.library.astype(np.float32), p=5)
    assert _sre(res, A, np.asarray(scene.library_index)) >= 30.0


def test_constraints_fasun():
    Y, D, _, _ = _scene(1)
    res = FaSUn(T=300, device="cpu").unmix(Y, D, p=3)
    A, B = res.abundances, res.library_coefficients
    # ADMM iterates: the affine constraints hold exactly, nonnegativity up to the primal residual
    np.testing.assert_allclose(A.sum(axis=0), 1.0, atol=1e-5)
    np.testing.assert_allclose(B.sum(axis=0), 1.0, atol=1e-5)
    assert A.min() > -1e-3 and B.min() > -1e-3
    assert res.info["primal_residual_A"] < 1e-3


@pytest.mark.parametrize("hard", [False, True])
def test_constraints_suns(hard):
    Y, D, _, _ = _scene(2)
    res = SUnS(T=300, device="cpu", hard=hard).unmix(Y, D, p=3)
    A, B = res.abundances, res.library_coefficients
    np.testing.assert_allclose(A.sum(axis=0), 1.0, atol=1e-5)
    assert A.min() > -1e-3
    assert B.min() >= 0.0 and B.max() <= 1.0        # B is the split variable: exactly in [0, 1]
    assert (B == 0).mean() > 0.5                    # sparse


def test_float64_and_agreement_with_float32():
    """float32 and float64 reach the same solution up to the order of the endmembers.

    The order is not a property of the solution: the symmetric start (A = 1/p) is separated by
    rounding, so which of the p! equivalent minima is returned depends on the dtype (and BLAS,
    device). The comparison therefore aligns the endmembers first (Hungarian on the SAD), as every
    evaluation of an unmixing result does, rather than the solver imposing a cosmetic order."""
    from hysupp.metrics import align

    Y, D, idx, A = _scene(3)
    r64 = FaSUn(T=200, device="cpu", dtype="float64").unmix(Y, D, p=3)
    r32 = FaSUn(T=200, device="cpu", dtype="float32").unmix(Y, D, p=3)
    assert r64.abundances.dtype == np.float64 and r64.library_coefficients.dtype == np.float64
    assert r64.info["dtype"] == "float64"
    assert abs(_sre(r64, A, idx) - _sre(r32, A, idx)) < 1.0
    al = align(r64.endmembers, r32.endmembers)
    np.testing.assert_allclose(r64.abundances, al.apply_abundances(r32.abundances), atol=5e-3)
    np.testing.assert_allclose(r64.endmembers, al.apply_endmembers(r32.endmembers), atol=5e-3)


def test_cuda_without_cuda_raises():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    Y, D, _, _ = _scene()
    with pytest.raises(ParameterError):
        FaSUn(T=5, device="cuda").unmix(Y, D, p=3)


def test_determinism_and_seed():
    Y, D, _, _ = _scene(4)
    a = FaSUn(T=100, device="cpu").unmix(Y, D, p=3)
    b = FaSUn(T=100, device="cpu").unmix(Y, D, p=3)
    np.testing.assert_array_equal(a.abundances, b.abundances)
    np.testing.assert_array_equal(a.library_coefficients, b.library_coefficients)
    c = FaSUn(T=100, device="cpu", init="random", seed=3).unmix(Y, D, p=3)
    d = FaSUn(T=100, device="cpu", init="random", seed=3).unmix(Y, D, p=3)
    e = FaSUn(T=100, device="cpu", init="random", seed=4).unmix(Y, D, p=3)
    np.testing.assert_array_equal(c.abundances, d.abundances)
    assert not np.array_equal(c.abundances, e.abundances)


@pytest.mark.parametrize("cls", [FaSUn, SUnS, MiSiSUn])
def test_objective_decreases_overall(cls):
    Y, D, _, _ = _scene(5)
    res = cls(T=400, device="cpu", history_every=20, tol=None).unmix(Y, D, p=3)   # all T
    obj = np.asarray(res.info["objective"])
    assert res.info["objective_iterations"][:2] == [20, 40] and len(obj) == 20
    assert np.all(np.isfinite(obj))
    assert obj[-1] < 0.2 * obj[0]
    # mostly monotone: the ADMM objective may wiggle, but late values stay below early ones
    assert obj[-5:].max() <= obj[:5].min()


def test_tol_early_stopping():
    Y, D, _, _ = _scene(6)
    res = FaSUn(T=5000, device="cpu", tol=1e-4).unmix(Y, D, p=3)
    assert res.info["stopped_early"] and res.info["iterations"] < 5000
    assert res.info["iterations"] % 10 == 0
    last = res.info["change_history"][-1]      # the stopping statistic at every check
    assert last["iteration"] == res.info["iterations"] and max(last["change_A"], last["change_B"]) < 1e-4
    assert all(max(c["change_A"], c["change_B"]) >= 1e-4 for c in res.info["change_history"][:-1])


def test_registry_params_and_validation():
    assert get_method("fasun") is FaSUn and get_method("SUNS") is SUnS and get_method("misisun") is MiSiSUn
    for cls in (FaSUn, SUnS, MiSiSUn):
        assert cls.task == "semi-supervised" and cls.needs_p
        m = cls()
        assert (m.T, m.TA, m.TB, m.mu1, m.mu2, m.mu3) == (10000, 5, 5, 50.0, 2.0, 1.0)
        assert m.dtype == "float32" and m.device == "auto"
        assert m.tol == (1e-5 if cls is MiSiSUn else None)   # measured (tests/test_stopping_defaults.py)
    assert SUnS().lam == 0.01 and SUnS().hard is False
    assert MiSiSUn().lam == 1e-3
    with pytest.raises(ParameterError):
        FaSUn(dtype="float16")
    with pytest.raises(ParameterError):
        FaSUn(device="tpu")
    with pytest.raises(ParameterError):
        FaSUn(T=5, mu1=0.0, device="cpu").unmix(*_scene()[:2], p=3)
    Y, D, _, _ = _scene()
    with pytest.raises(InputError):
        FaSUn(T=5).unmix(Y, D)                      # p missing
    with pytest.raises(InputError):
        FaSUn(T=5).unmix(Y, D[:10], p=3)            # band mismatch


def test_divergence_raises():
    Y, D, _, _ = _scene()
    Y = Y.copy()
    with pytest.raises(HysuppError, match=r"FaSUn.*iteration"):
        fasun_solve(Y * 1e30, D * 1e30, 3, T=20, history_every=5, device="cpu", dtype="float32")


def test_flush_denormal_restores_state():
    probe = lambda: (torch.tensor([1e-30]) * torch.tensor([1e-10])).item() == 0.0
    before = probe()
    with flush_denormal():
        if torch.set_flush_denormal(True):  # supported on this CPU
            assert probe()
    assert probe() == before


def test_api_unmix_small_scene():
    import hysupp
    from hysupp.scene import Scene

    Y, D, idx, A = _scene(7, N=400)
    scene = Scene(cube=Y.reshape(60, 20, 20).astype(np.float32), library=D.astype(np.float32),
                  library_index=idx, abundances=A.reshape(3, 20, 20), endmembers=D[:, idx])
    run = hysupp.unmix(scene, "FaSUn", p=3, params={"T": 300, "device": "cpu"})
    assert run.abundances.shape == (3, 20, 20)
    assert run.metrics is not None


@pytest.mark.parametrize("b_step, lam, misi", [("simplex", 0.0, 0.0), ("soft", 0.01, 0.0), ("hard", 0.01, 0.0),
                                               ("simplex", 0.0, 1e-3)])
def test_torch_backend_matches_numpy_backend(b_step, lam, misi):
    """The all-torch code path (used on CUDA) gives the same iterates as the CPU path (float64)."""
    Y, D, _, _ = _scene(8)
    kw = {"T": 50, "b_step": b_step, "lam": lam, "misi_lambda": misi, "device": "cpu", "dtype": "float64",
          "history_every": 10}
    A1, B1, i1 = fasun_solve(Y, D, 3, **kw)
    A2, B2, i2 = fasun_solve(Y, D, 3, backend="torch", **kw)
    np.testing.assert_allclose(A1, A2, atol=1e-6)
    np.testing.assert_allclose(B1, B2, atol=1e-6)
    np.testing.assert_allclose(i1["objective"], i2["objective"], rtol=1e-5)


@pytest.mark.parametrize("backend", [None, "torch"])
def test_input_cube_is_not_modified(backend):
    """The solver reads Y and never writes it (the objective's float64 blocks are copies, even where
    a CPU tensor shares the cube's memory)."""
    Y, D, _, _ = _scene(3)
    Y0 = Y.copy()
    fasun_solve(Y, D, 3, T=20, history_every=5, device="cpu", dtype="float64", backend=backend)
    np.testing.assert_array_equal(Y, Y0)


def test_objective_by_blocks_equals_the_definition(monkeypatch):
    """The objective recorded every ``history_every`` iterations, computed by pixel blocks, is
    0.5 ||Y - D B A||^2 of the returned iterates (feasible=False) computed whole."""
    import hysupp.unmixing.semisupervised.fasun as mod

    Y, D, _, _ = _scene(4)
    monkeypatch.setattr(mod, "OBJECTIVE_BLOCK_VALUES", 60 * 7)      # blocks of 7 pixels, ragged last
    A, B, info = fasun_solve(Y, D, 3, T=10, history_every=10, device="cpu", dtype="float64", feasible=False)
    assert info["objective_iterations"] == [10]
    assert info["objective"][0] == pytest.approx(0.5 * np.sum((Y - D @ B @ A) ** 2), rel=1e-12)


def test_peak_memory_is_state_not_cube_copies(monkeypatch):
    """Traced allocations of the CPU path (float32): no copy of the cube (A Y^T reads a transposed
    view) and no full-size float64 array (the objective runs by pixel blocks), so the peak is
    ``(p, N)`` state and initialisation (a few float64 (p, N) arrays) plus one objective block; the
    earlier implementation (a transposed copy and a whole-cube float64 objective) peaked at 7.3
    cubes here, this one at 0.39."""
    import tracemalloc

    import hysupp.unmixing.semisupervised.fasun as mod

    rng = np.random.default_rng(6)
    L, M, p, N = 100, 40, 3, 20000
    D = rng.uniform(0.1, 1.0, (L, M))
    Y = (D[:, :p] @ rng.dirichlet(np.ones(p), N).T).astype(np.float32)
    monkeypatch.setattr(mod, "OBJECTIVE_BLOCK_VALUES", 1 << 16)    # 655 pixels of 100 bands
    fasun_solve(Y, D, p, T=2, device="cpu")                         # lazy imports out of the count
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fasun_solve(Y, D, p, T=4, history_every=2, device="cpu", dtype="float32")
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    cube, state = Y.nbytes, p * N * 8
    assert peak <= 12 * state + 4 * (1 << 16) * 8 + 1024 ** 2, (peak / cube, peak / state)
    assert peak < 0.5 * cube
