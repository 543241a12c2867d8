"""Numerical guards (issue 10): one shared divergence check (hysupp.optim.guards) stops iterative
methods with an error naming the method and the iteration; fixed seeds are deterministic on CPU."""

from __future__ import annotations

import numpy as np
import pytest

import hysupp
from hysupp.errors import DivergenceError, HysuppError
from hysupp.methods.registry import get_method
from hysupp.optim.guards import check_finite, check_result, is_finite

RNG = np.random.default_rng(3)
L, H, W, M = 12, 5, 6, 8
D = 0.1 + RNG.random((L, M))
X = np.zeros((M, H * W))
X[RNG.integers(0, M, H * W), np.arange(H * W)] = 1.0
Y = D @ X


def test_check_finite_numbers_arrays_and_tensors():
    check_finite("Demo", 1, 0.0, np.ones(3), np.float32(2))
    assert not is_finite(np.array([1.0, np.inf])) and not is_finite(float("nan")) and is_finite(3)
    with pytest.raises(DivergenceError, match=r"^Demo: the loss diverged \(NaN/Inf\) at iteration 12; lower lr$"):
        check_finite("Demo", 12, 1.0, np.array([np.nan]), what="loss", hint="lower lr")
    torch = pytest.importorskip("torch")
    assert is_finite(torch.ones(2)) and not is_finite(torch.tensor([1.0, float("inf")]))
    with pytest.raises(DivergenceError, match="iteration 4"):
        check_finite("T", 4, torch.tensor(float("nan")))
    assert issubclass(DivergenceError, HysuppError)       # the CLI prints it as one line, bench records it


def test_check_result_counts_bad_values():
    check_result("Demo", abundances=np.ones((2, 3)), endmembers=None)
    with pytest.raises(DivergenceError, match=r"Demo returned non-finite endmembers: 2 of 6 values are NaN/Inf "
                                              r"\(shape \(3, 2\)\)"):
        check_result("Demo", abundances=np.ones((2, 3)), endmembers=np.array([[1, np.nan], [np.inf, 1], [1, 1]]))


def _poison(monkeypatch, module, name):
    """Make a proximal step return Inf, as a diverging iterate would."""
    real = getattr(module, name)

    def poisoned(V, *args, **kwargs):
        out = real(V, *args, **kwargs)
        target = kwargs.get("out", out if out is not None else V)
        target.flat[0] = np.inf
        return out

    monkeypatch.setattr(module, name, poisoned)


@pytest.mark.parametrize("method, prox", [("SUnSAL", "soft_threshold"), ("SUnSAL-TV", "soft_threshold"),
                                          ("CLSUnSAL", "group_shrink_factors")])
def test_admm_methods_stop_on_non_finite_iterates(monkeypatch, method, prox):
    from hysupp.optim import admm
    from hysupp.unmixing.semisupervised import sunsal

    _poison(monkeypatch, admm if method == "SUnSAL" else sunsal, prox)   # SUnSAL: the chunked kernel
    kwargs = {"image_shape": (H, W)} if method == "SUnSAL-TV" else {}
    params = {"positivity": False} if method == "SUnSAL" else {}   # the positive l1 prox is fused in the loop
    with pytest.raises(DivergenceError, match=rf"^{method}: the ADMM iterates diverged \(NaN/Inf\) at iteration 1; "):
        get_method(method)(max_iter=30, dtype="float64", **params).unmix(Y, D, **kwargs)


def test_s2wsu_stops_on_non_finite_weights(monkeypatch):
    from hysupp.unmixing.semisupervised import s2wsu

    monkeypatch.setattr(s2wsu, "neighbourhood_mean_padded", lambda P: np.full_like(P[:, 1:-1, 1:-1], np.nan))
    with pytest.raises(DivergenceError, match=r"^S2WSU: the ADMM iterates diverged \(NaN/Inf\) at iteration \d+"):
        get_method("S2WSU")(dtype="float64", outer_iters=2, inner_iters=3).unmix(Y, D, image_shape=(H, W))


def test_fasun_stops_with_method_and_iteration():
    from hysupp.unmixing.semisupervised.fasun import FaSUn

    with pytest.raises(DivergenceError, match=r"^FaSUn: the iterates diverged \(NaN/Inf\) at iteration \d+; check the "
                                              r"scaling of Y and D"):
        m = FaSUn(T=20, device="cpu", dtype="float32")
        m.units_scale = 1.0    # (the template would otherwise bring the data back to reflectance units)
        m.unmix(Y * 1e30, D * 1e30, p=3)


def test_torch_training_loop_names_method_and_iteration():
    torch = pytest.importorskip("torch")
    from hysupp.nn.training import fit, make_optimizer

    w = torch.ones(1, requires_grad=True)
    with pytest.raises(DivergenceError, match=r"^UnDIP: the training loss diverged \(NaN/Inf\) at iteration 0; try a "
                                              r"smaller learning rate"):
        fit(lambda k: (w * float("nan"), None), make_optimizer([w], lr=0.1), 3, method="UnDIP")


def test_unmix_reports_divergence_as_a_user_error(monkeypatch):
    from hysupp.optim import admm
    from hysupp.scene import Scene

    _poison(monkeypatch, admm, "soft_threshold")
    with pytest.raises(HysuppError, match=r"SUnSAL: the ADMM iterates diverged .* at iteration 1"):
        hysupp.unmix(Scene(cube=Y.reshape(L, H, W)), "SUnSAL", library=D, params={"max_iter": 20, "positivity": False})


@pytest.mark.parametrize("method, params, call", [
    ("VCA", {}, lambda m: m.extract(Y, 3).endmembers),
    ("FaSUn", {"T": 30, "device": "cpu"}, lambda m: m.unmix(Y, D, p=3).abundances),
    ("UnDIP", {"niters": 3, "hidden": 8, "device": "cpu"}, lambda m: m.unmix(Y, D[:, :3], image_shape=(H, W))
     .abundances),
])
def test_fixed_seed_is_deterministic_on_cpu(method, params, call):
    cls = get_method(method)
    a = call(cls(seed=7, **params))
    b = call(cls(seed=7, **params))
    np.testing.assert_array_equal(a, b)
    assert np.isfinite(a).all()
