"""Network unmixing methods (CNNAEU, MiSiCNet, PGMSU, UnDIP) and the shared training utilities.

Tiny scenes (8x8 .. 12x12 pixels), a few iterations: shapes, simplex/box invariants, seed
determinism on CPU, loss decrease, parameter validation, device handling.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hysupp.errors import HysuppError, InputError, ParameterError
from hysupp.methods.registry import get_method
from hysupp.nn.training import (
    EMA,
    LossHistory,
    fit,
    loader_order,
    make_optimizer,
    to_tensor,
    torch_session,
)
from hysupp.unmixing.blind.cnnaeu import CNNAEU, default_num_patches, patch_corners
from hysupp.unmixing.blind.misicnet import MiSiCNet, sivm_init
from hysupp.unmixing.blind.pgmsu import PGMSU
from hysupp.unmixing.supervised.undip import UnDIP


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: these tiny networks gain nothing from more, and a loaded box makes OpenMP barriers slow."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _scene(H: int = 8, W: int = 8, L: int = 16, p: int = 3, seed: int = 0):
    """Smooth abundance maps on the simplex (with pure pixels in the corners) and endmembers in [0.1, 0.9]."""
    rng = np.random.default_rng(seed)
    E = 0.1 + 0.8 * rng.random((L, p))
    yy, xx = np.mgrid[0:H, 0:W] / max(H, W)
    logits = np.stack([np.cos(3 * (k + 1) * yy + 2 * k * xx) * 4 for k in range(p)])
    A = np.exp(logits) / np.exp(logits).sum(0)
    A = A.reshape(p, -1)
    A[:, :p] = np.eye(p)
    return E @ A, E, A, (H, W)


FAST = {
    "CNNAEU": {"epochs": 3, "patch_size": 8, "num_patches": 4, "batch_size": 2},
    "MiSiCNet": {"niters": 4, "hidden": 16},
    "PGMSU": {"epochs": 2},
}


def _run(name: str, seed: int = 0, **kw):
    Y, _E, _A, shape = _scene()
    params = {**FAST[name], **kw}
    return get_method(name, "blind")(device="cpu", seed=seed, **params).unmix(Y, 3, image_shape=shape)


# --------------------------------------------------------------------- shared training utilities
def test_ema_golden_and_validation() -> None:
    ema = EMA(0.9)
    ema.update(torch.tensor([1.0, 0.0]))
    out = ema.update(torch.tensor([0.0, 1.0]))
    assert torch.allclose(out, torch.tensor([0.9, 0.1]))
    out = ema.update(torch.tensor([0.0, 1.0]))
    assert torch.allclose(out, torch.tensor([0.81, 0.19]))
    with pytest.raises(ParameterError):
        EMA(1.0)


def test_fit_history_and_divergence() -> None:
    with torch_session(device="cpu", seed=0, threads=1) as s:
        w = torch.zeros(2, requires_grad=True)
        target = to_tensor(np.array([1.0, -1.0]), s)
        opt = make_optimizer([w], "adam", lr=0.1)
        res = fit(lambda k: (((w - target) ** 2).sum(), w), opt, 31, history_every=10)
        assert res.history.iterations == [0, 10, 20, 30]
        assert res.history.values[0] == pytest.approx(2.0)
        assert res.history.values[-1] < 0.5 and res.ema is None
        bad = torch.ones(1, requires_grad=True)
        with pytest.raises(HysuppError, match="diverged"):
            fit(lambda k: (bad * float("nan"), None), make_optimizer([bad], lr=0.1), 3)
    h = LossHistory(every=5)
    assert [k for k in range(12) if h.due(k, 12)] == [0, 5, 10, 11]
    with pytest.raises(ParameterError):
        make_optimizer([w], "lbfgs")
    with pytest.raises(ParameterError):
        make_optimizer([w], lr=0.0)


def test_torch_session_restores_rng_and_threads() -> None:
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with torch_session(device="cpu", dtype="float64", seed=7, threads=1) as s:
        assert torch.get_num_threads() == 1 and s.dtype == torch.float64
        a = torch.rand(2)
    with torch_session(device="cpu", seed=7) as s:
        assert torch.equal(torch.rand(2).double(), a)   # same seed, same draws
    assert torch.equal(torch.rand(3), expected)         # the caller's RNG stream is untouched
    assert torch.get_num_threads() == threads


def test_loader_order_reproduces_a_shuffling_dataloader() -> None:
    torch.manual_seed(5)
    mine = [loader_order(10) for _ in range(3)]
    after_mine = torch.rand(2)
    torch.manual_seed(5)
    dl = torch.utils.data.DataLoader(torch.arange(10), batch_size=10, shuffle=True)
    theirs = [next(iter(dl)) for _ in range(3)]
    assert all(torch.equal(a, b) for a, b in zip(mine, theirs))
    assert torch.equal(torch.rand(2), after_mine)                   # same number of draws from the stream


def test_cuda_request_without_cuda_is_a_clear_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    Y, E, _A, shape = _scene()
    with pytest.raises(ParameterError, match="CUDA is not available"):
        MiSiCNet(niters=1, device="cuda").unmix(Y, 3, image_shape=shape)
    with pytest.raises(ParameterError, match="CUDA is not available"):
        UnDIP(niters=1, device="cuda").unmix(Y, E, image_shape=shape)


def test_modules_do_not_import_torch_at_import_time() -> None:
    code = ("import sys; import hysupp.nn.training, hysupp.unmixing.blind.cnnaeu, hysupp.unmixing.blind.misicnet, "
            "hysupp.unmixing.blind.pgmsu, hysupp.unmixing.supervised.undip; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --------------------------------------------------------------------- blind networks
@pytest.mark.parametrize("name", ["CNNAEU", "MiSiCNet", "PGMSU"])
def test_blind_shapes_simplex_and_determinism(name: str) -> None:
    cls = get_method(name, "blind")
    assert cls.task == "blind"
    r1 = _run(name, seed=3)
    assert r1.abundances.shape == (3, 64) and r1.endmembers.shape == (16, 3)
    assert r1.abundances.dtype == np.float32
    assert r1.abundances.min() >= 0
    np.testing.assert_allclose(r1.abundances.sum(0), 1.0, atol=1e-5)
    assert np.isfinite(r1.endmembers).all()
    assert r1.info["device"] == "cpu" and r1.info["seed"] == 3 and r1.info["dtype"] == "float32"
    r2 = _run(name, seed=3)
    np.testing.assert_array_equal(r1.abundances, r2.abundances)
    np.testing.assert_array_equal(r1.endmembers, r2.endmembers)
    r3 = _run(name, seed=4)
    assert not np.array_equal(r1.abundances, r3.abundances)


def test_float64_option() -> None:
    r = _run("MiSiCNet", dtype="float64")
    assert r.abundances.dtype == np.float64 and r.info["dtype"] == "float64"


def test_misicnet_endmembers_in_box_and_sivm_start() -> None:
    Y, E, _A, shape = _scene()
    r0 = MiSiCNet(niters=0, device="cpu", hidden=8).unmix(Y, 3, image_shape=shape)
    np.testing.assert_allclose(r0.endmembers, sivm_init(Y, 3), rtol=1e-6)   # decoder starts at SiVM
    # SiVM finds the three pure pixels (columns 0, 1, 2), sorted by pixel index as in HySUPP
    np.testing.assert_allclose(sivm_init(Y, 3), E, rtol=1e-12)
    r = MiSiCNet(niters=40, device="cpu", hidden=16, lr=0.05).unmix(Y, 3, image_shape=shape)
    assert r.endmembers.min() >= 0 and r.endmembers.max() <= 1     # projected on [0, 1] every step
    assert r.info["loss"][-1] < r.info["loss"][0]
    assert r.info["loss_iterations"] == [0, 39]


def test_misicnet_minimum_simplex_term_shrinks_endmembers() -> None:
    """A large lambda pulls the endmembers towards the mean pixel."""
    Y, _E, _A, shape = _scene()
    ybar = Y.mean(1, keepdims=True)
    spread = [np.linalg.norm(MiSiCNet(niters=30, hidden=8, lr=0.01, lambd=lam, device="cpu")
                             .unmix(Y, 3, image_shape=shape).endmembers - ybar) for lam in (0.0, 100.0)]
    assert spread[1] < 0.8 * spread[0]


def test_pgmsu_endmembers_in_unit_box_and_loss_decreases() -> None:
    Y, _E, _A, _shape = _scene(H=10, W=10)
    r = PGMSU(epochs=8, device="cpu").unmix(Y, 3)
    assert r.endmembers.min() >= 0 and r.endmembers.max() <= 1      # sigmoid decoder
    assert r.info["endmember_std"].shape == (16, 3) and (r.info["endmember_std"] >= 0).all()
    assert r.info["batch_size"] == 10 and r.info["iterations"] == 80
    loss = r.info["loss"]
    assert len(loss) == 8 and loss[3] < loss[0]                     # pre-training phase decreases
    assert not PGMSU.spatial                                        # pixel-wise: no image_shape needed


def test_cnnaeu_patches_loss_and_spatial_requirements() -> None:
    assert default_num_patches(95, 95, 156) == 23                    # Samson, as HySUPP
    assert default_num_patches(8, 8, 16) == 0                        # HySUPP: every patch position
    # extract_patches_2d's rule: at most one patch per position; 0 = all positions, row-major
    assert [c.tolist() for c in patch_corners(40, 40, 40, default_num_patches(40, 40, 224), 0)] == [[0], [0]]
    rows, cols = patch_corners(95, 95, 40, 23, 7)
    rs = np.random.RandomState(7)
    assert rows.tolist() == rs.randint(56, size=23).tolist() and cols.tolist() == rs.randint(56, size=23).tolist()
    rows, cols = patch_corners(10, 12, 8, 0, 0)
    assert list(zip(rows.tolist(), cols.tolist())) == [(r, c) for r in range(3) for c in range(5)]
    Y1, _E1, _A1, shape1 = _scene(H=10, W=10)
    one = CNNAEU(epochs=2, patch_size=10, num_patches=5, batch_size=15, device="cpu").unmix(Y1, 3, image_shape=shape1)
    assert one.info["num_patches"] == 1 and one.info["num_patches_requested"] == 5 and one.info["iterations"] == 2
    Y, _E, _A, shape = _scene(H=12, W=12)
    r = CNNAEU(epochs=25, patch_size=8, num_patches=6, batch_size=3, lr=3e-3, device="cpu").unmix(
        Y, 3, image_shape=shape)
    assert r.info["patch_size"] == 8 and r.info["iterations"] == 50
    assert np.mean(r.info["loss"][-5:]) < np.mean(r.info["loss"][:5])
    with pytest.raises(InputError, match="spatial"):
        CNNAEU(epochs=1, device="cpu").unmix(Y, 3)
    with pytest.raises(InputError, match="at least"):                # 11x11 reflect decoder on 4x4 patches
        CNNAEU(epochs=1, device="cpu").unmix(Y[:, :16], 3, image_shape=(4, 4))


@pytest.mark.parametrize("cls, bad", [
    (CNNAEU, {"epochs": -1}), (CNNAEU, {"lr": -1.0}), (CNNAEU, {"dropout": 1.0}), (CNNAEU, {"device": "tpu"}),
    (MiSiCNet, {"exp_weight": 1.0}), (MiSiCNet, {"lambd": -0.1}), (MiSiCNet, {"dtype": "float16"}),
    (PGMSU, {"z_dim": 0}), (PGMSU, {"batch_size": 0}), (UnDIP, {"niters": -5}), (UnDIP, {"bogus": 1}),
])
def test_parameter_validation(cls, bad) -> None:
    with pytest.raises(ParameterError):
        cls(**bad)


def test_even_kernels_and_bad_p_rejected() -> None:
    Y, _E, _A, shape = _scene()
    with pytest.raises(ParameterError, match="odd"):
        MiSiCNet(niters=1, kernel_size=4, device="cpu").unmix(Y, 3, image_shape=shape)
    with pytest.raises(ParameterError, match="odd"):
        CNNAEU(epochs=1, decoder_kernel=4, device="cpu").unmix(Y, 3, image_shape=shape)
    with pytest.raises(InputError):
        MiSiCNet(niters=1, device="cpu").unmix(Y, 1, image_shape=shape)


# --------------------------------------------------------------------- UnDIP (supervised)
def test_undip_shapes_simplex_determinism_and_fit() -> None:
    Y, E, _A, shape = _scene(H=9, W=11)                               # odd sizes: crop after upsampling
    assert UnDIP.task == "supervised" and UnDIP.spatial
    kw = {"niters": 30, "hidden": 16, "lr": 0.01, "device": "cpu"}
    r = UnDIP(**kw).unmix(Y, E, image_shape=shape)
    assert r.abundances.shape == (3, 99)
    np.testing.assert_allclose(r.abundances.sum(0), 1.0, atol=1e-5)
    np.testing.assert_array_equal(r.endmembers, E.astype(np.float32))
    assert r.info["loss"][-1] < 0.5 * r.info["loss"][0]
    r2 = UnDIP(**kw).unmix(Y, E, image_shape=shape)
    np.testing.assert_array_equal(r.abundances, r2.abundances)
    with pytest.raises(InputError, match="image_shape"):
        UnDIP(**kw).unmix(Y, E)
    with pytest.raises(InputError):
        UnDIP(**kw).unmix(Y, E[:-1], image_shape=shape)
    # the image itself as the network input
    r3 = UnDIP(**{**kw, "niters": 2}, noisy_input=False).unmix(Y, E, image_shape=shape)
    assert r3.abundances.shape == (3, 99)
