"""MSNet, ADMMNet and EndNet (torch blind unmixing networks): shapes, simplex invariants, seed
determinism on CPU, training progress, the unrolled-ADMM initialisation and parameter validation.
Tiny scenes and a few iterations only (the Samson parity runs live in benchmarks/bench_nets2.py)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hysupp.errors import InputError, ParameterError
from hysupp.methods import get_method
from hysupp.unmixing.blind.admmnet import ADMMNet, admmnet_train
from hysupp.unmixing.blind.endnet import EndNet
from hysupp.unmixing.blind.msnet import MSNet

L, P = 16, 3


def scene(H: int = 10, W: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smooth abundance maps (so the image has spatial structure), with a few pure pixels."""
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.05, 0.9, size=(L, P))
    yy, xx = np.mgrid[0:H, 0:W] / max(H, W)
    logits = np.stack([3 * xx, 3 * yy, 3 * (1 - xx - yy)]) + 0.3 * rng.standard_normal((P, H, W))
    A = np.exp(logits) / np.exp(logits).sum(0)
    A = A.reshape(P, -1)
    A[:, :P] = np.eye(P)
    return (E @ A).astype(np.float32), E, A


FAST = {
    "MSNet": {"epochs": 4},
    "ADMMNet": {"epochs": 2, "batch_size": 32},
    "EndNet": {"epochs": 2, "num_spectra": 128, "batch_size": 32},
}


@pytest.mark.parametrize("name", ["MSNet", "ADMMNet", "EndNet"])
def test_registered_shapes_and_info(name):
    cls = get_method(name, "blind")
    assert cls.task == "blind" and "doi:" in cls.reference
    Y, _, _ = scene(8, 12)
    res = cls(device="cpu", **FAST[name]).unmix(Y, P, image_shape=(8, 12))
    assert res.abundances.shape == (P, 96) and res.endmembers.shape == (L, P)
    assert res.abundances.dtype == np.float32 and res.endmembers.dtype == np.float32
    assert np.isfinite(res.abundances).all() and np.isfinite(res.endmembers).all()
    info = res.info
    assert info["device"] == "cpu" and info["dtype"] == "float32" and info["seed"] == 0
    assert info["loss"] and len(info["loss"]) == len(info["loss_iterations"])
    assert info["loss_iterations"][-1] == info["iterations"] - 1


def test_float64_option():
    Y, _, _ = scene(8, 8)
    res = ADMMNet(epochs=1, device="cpu", dtype="float64").unmix(Y.astype(np.float64), P)
    assert res.abundances.dtype == np.float64 and res.info["dtype"] == "float64"


def test_simplex_invariants():
    Y, _, _ = scene(10, 10)
    ms = MSNet(epochs=3, device="cpu").unmix(Y, P, image_shape=(10, 10))
    assert ms.abundances.min() >= 0
    np.testing.assert_allclose(ms.abundances.sum(0), 1, atol=1e-5)      # softmax: exactly on the simplex
    for res in (ADMMNet(epochs=3, batch_size=16, device="cpu").unmix(Y, P),
                EndNet(epochs=3, num_spectra=100, batch_size=20, device="cpu").unmix(Y, P)):
        A = res.abundances
        assert A.min() >= 0
        s = A.sum(0)
        # sum-to-one normalisation: 1 up to the guard epsilon, or 0 where every activation is zero
        assert np.all((np.abs(s - 1) < 1e-4) | (s == 0))
        assert res.info["zero_abundance_pixels"] == int((s == 0).sum())
        assert (s > 0).mean() > 0.5
    adm = ADMMNet(epochs=3, batch_size=16, device="cpu").unmix(Y, P)
    assert adm.endmembers.min() >= 0 and adm.endmembers.max() <= 1                 # clipped decoder
    assert EndNet(epochs=2, num_spectra=64, device="cpu").unmix(Y, P).endmembers.min() >= 0


@pytest.mark.parametrize("name", ["MSNet", "ADMMNet", "EndNet"])
def test_seed_determinism_on_cpu(name):
    Y, _, _ = scene(8, 8)
    cls = get_method(name, "blind")
    runs = [cls(device="cpu", seed=s, **FAST[name]).unmix(Y, P, image_shape=(8, 8)) for s in (3, 3, 4)]
    np.testing.assert_array_equal(runs[0].abundances, runs[1].abundances)
    np.testing.assert_array_equal(runs[0].endmembers, runs[1].endmembers)
    assert runs[0].info["loss"] == runs[1].info["loss"]
    assert not np.array_equal(runs[0].abundances, runs[2].abundances)


def test_global_torch_rng_untouched():
    Y, _, _ = scene(8, 8)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    MSNet(epochs=1, device="cpu").unmix(Y, P, image_shape=(8, 8))
    assert torch.equal(torch.rand(3), expected)


def test_training_decreases_the_loss():
    Y, _, _ = scene(12, 12)
    ms = MSNet(epochs=25, lr=3e-3, history_every=1, device="cpu").unmix(Y, P, image_shape=(12, 12))
    loss = ms.info["loss"]
    assert np.mean(loss[-5:]) < 0.8 * np.mean(loss[:3])
    adm = ADMMNet(epochs=30, lr=1e-2, batch_size=16, history_every=1, device="cpu").unmix(Y, P)
    loss = adm.info["loss"]
    assert np.mean(loss[-9:]) < 0.5 * np.mean(loss[:9])
    en = EndNet(epochs=15, num_spectra=128, batch_size=16, noise_std=0.0, history_every=1,
                device="cpu").unmix(Y, P)
    loss = en.info["loss"]
    assert np.mean(loss[-8:]) < np.mean(loss[:8])


def test_admmnet_encoder_at_initialisation_is_unrolled_admm():
    """With a vanishing learning rate the network is its initialisation: two ADMM iterations for
    min 1/2||y - E0 x||^2 + lambda ||x||_1, x >= 0 (from z = d = 0), normalised to sum to one."""
    Y, E, _ = scene(6, 6, seed=1)
    Y = Y.astype(np.float64)
    lambd, mu = 0.05, 0.2
    E_out, A, _ = admmnet_train(Y, E, epochs=1, lr=1e-30, batch_size=8, lambd=lambd, mu=mu, device="cpu",
                                dtype="float64")
    np.testing.assert_allclose(E_out, np.clip(E, 0, 1), atol=1e-12)
    Minv = np.linalg.inv(E.T @ E + mu * np.eye(P))
    z = d = np.zeros((P, Y.shape[1]))
    for _ in range(2):
        x = Minv @ (E.T @ Y + mu * (z + d))
        z = np.maximum(x - d - lambd / mu, 0)
        d = d - (x - z)
    np.testing.assert_allclose(A, z / (z.sum(0) + 1e-10), atol=1e-9)


@pytest.mark.parametrize("kw", [{}, {"tied": True}, {"nblocks": 3}, {"nblocks": 1}])
def test_admmnet_hand_written_backward_matches_autograd(kw):
    Y, E, _ = scene(8, 8, seed=2)
    Y = Y.astype(np.float64)
    common = dict(epochs=3, lr=1e-2, batch_size=10, device="cpu", dtype="float64", **kw)
    Ea, Aa, ia = admmnet_train(Y, E, autograd=True, **common)
    Em, Am, im = admmnet_train(Y, E, autograd=False, **common)
    np.testing.assert_allclose(Em, Ea, atol=1e-12)
    np.testing.assert_allclose(Am, Aa, atol=1e-12)
    np.testing.assert_allclose(im["loss"], ia["loss"], rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_initial_endmembers_are_copied_not_trained_in_place(dtype):
    from hysupp.unmixing.blind.endnet import endnet_train

    Y, E, _ = scene(8, 8)
    E0 = E.astype(dtype)
    keep = E0.copy()
    admmnet_train(Y.astype(dtype), E0, epochs=2, lr=1e-2, device="cpu", dtype=dtype)
    E_out, _, _ = endnet_train(Y.astype(dtype), E0, epochs=2, num_spectra=64, lr=1e-2, device="cpu", dtype=dtype)
    np.testing.assert_array_equal(E0, keep)
    assert not np.array_equal(E_out, keep)


def test_msnet_stage_weights_follow_the_seed():
    """Same seed, same initial decoders -> same network; the decoders start at the VCA endmembers."""
    from hysupp.unmixing.blind.msnet import msnet_train

    Y, E, _ = scene(8, 8)
    out1 = msnet_train(Y, E, (8, 8), epochs=1, lr=1e-30, weight_decay=0.0, device="cpu")
    out2 = msnet_train(Y, E, (8, 8), epochs=1, lr=1e-30, weight_decay=0.0, device="cpu")
    np.testing.assert_array_equal(out1[1], out2[1])
    np.testing.assert_allclose(out1[0], E, atol=1e-6)


@pytest.mark.parametrize("drop_out", [0.0, 0.2])
def test_msnet_folded_mixing_matches_the_plain_network(drop_out):
    """T_L folded into the first convolutions: same losses, abundances and endmembers (float64),
    same dropout masks."""
    from hysupp.unmixing.blind.msnet import msnet_train

    Y, E, _ = scene(11, 9, seed=3)
    kw = {"epochs": 4, "lr": 1e-2, "drop_out": drop_out, "device": "cpu", "dtype": "float64", "history_every": 1}
    Ef, Af, inf = msnet_train(Y.astype(np.float64), E, (11, 9), fold=True, **kw)
    Ep, Ap, inp = msnet_train(Y.astype(np.float64), E, (11, 9), fold=False, **kw)
    np.testing.assert_allclose(inf["loss"], inp["loss"], rtol=1e-9)
    np.testing.assert_allclose(Af, Ap, atol=1e-8)
    np.testing.assert_allclose(Ef, Ep, atol=1e-8)


def test_msnet_tied_decoders_share_one_matrix():
    from hysupp.unmixing.blind.msnet import msnet_train

    Y, E, _ = scene(8, 8)
    E_tied, _, _ = msnet_train(Y, E, (8, 8), epochs=3, lr=1e-2, tie_decoders=True, device="cpu")
    E_sep, _, _ = msnet_train(Y, E, (8, 8), epochs=3, lr=1e-2, device="cpu")
    assert not np.allclose(E_tied, E_sep)
    assert MSNet(tie_decoders=True).config["tie_decoders"] is True


def test_parameter_validation():
    with pytest.raises(ParameterError):
        MSNet(epochs=0)
    with pytest.raises(ParameterError):
        MSNet(drop_out=1.5)
    with pytest.raises(ParameterError):
        ADMMNet(batch_size=0)
    with pytest.raises(ParameterError):
        EndNet(noise_fraction=2.0)
    with pytest.raises(ParameterError):
        EndNet(device="tpu")
    with pytest.raises(ParameterError):
        ADMMNet(dtype="float16")
    Y, _, _ = scene(8, 8)
    with pytest.raises(ParameterError, match="lr"):
        ADMMNet(lr=0.0, epochs=1, device="cpu").unmix(Y, P)
    with pytest.raises(ParameterError, match="lr"):
        EndNet(lr=0.0, epochs=1, device="cpu").unmix(Y, P)
    with pytest.raises(InputError, match="image_shape"):
        MSNet(epochs=1, device="cpu").unmix(Y, P)                      # spatial: needs the grid
    with pytest.raises(InputError, match="image_shape"):
        MSNet(epochs=1, device="cpu").unmix(Y, P, image_shape=(4, 4))
    with pytest.raises(InputError):
        ADMMNet(epochs=1, device="cpu").unmix(Y, 1)
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError, match="CUDA"):
            ADMMNet(epochs=1, device="cuda").unmix(Y, P)
