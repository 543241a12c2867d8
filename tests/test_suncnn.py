"""SUnCNN (hysupp.unmixing.semisupervised.suncnn) and the DIP blocks of hysupp.nn.blocks.

Tiny images on CPU, a few iterations. The DC1 comparison with HySUPP is in
benchmarks/bench_suncnn.py.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hysupp.errors import InputError, ParameterError
from hysupp.methods.registry import get_method
from hysupp.nn.blocks import (
    DIPSkipNet,
    OutputEMA,
    conv_block,
    crop_cat,
    noise_input,
    seeded,
)
from hysupp.unmixing.semisupervised.suncnn import SUnCNN


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on a loaded small machine several threads spin and run ~10x slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _scene(seed: int = 0, L: int = 12, M: int = 8, H: int = 6, W: int = 5):
    rng = np.random.default_rng(seed)
    D = rng.uniform(0.1, 1.0, (L, M))
    X = np.zeros((M, H * W))
    X[[1, 4, 6]] = rng.dirichlet(np.ones(3), H * W).T
    return (D @ X).astype(np.float32), D, X, (H, W)


def test_registered_and_defaults():
    assert get_method("suncnn", task="semi-supervised") is SUnCNN
    assert SUnCNN.spatial and not SUnCNN.needs_p
    c = SUnCNN().config  # HySUPP config/model/SUnCNN.yaml
    assert (c["niters"], c["lr"], c["exp_weight"], c["noisy_input"]) == (20000, 1e-3, 0.99, True)


def test_shapes_simplex_and_info():
    Y, D, _, shape = _scene()
    res = SUnCNN(max_iter=5, device="cpu").unmix(Y, D, image_shape=shape)
    X = res.abundances
    assert res.over_library and X.shape == (8, 30) and X.dtype == np.float32
    assert res.endmembers.shape == D.shape
    assert X.min() > 0  # softmax
    np.testing.assert_allclose(X.sum(axis=0), 1, atol=1e-5)
    assert res.library_abundances() is X
    info = res.info
    assert info["iterations"] == 5 and len(info["loss"]) == 5
    assert info["device"] == "cpu" and info["dtype"] == "float32" and info["seed"] == 0


def test_deterministic_seed_and_caller_rng_untouched():
    Y, D, _, shape = _scene()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = SUnCNN(max_iter=3, device="cpu", seed=1).unmix(Y, D, image_shape=shape)
    assert torch.equal(torch.get_rng_state(), before)
    b = SUnCNN(max_iter=3, device="cpu", seed=1).unmix(Y, D, image_shape=shape)
    c = SUnCNN(max_iter=3, device="cpu", seed=2).unmix(Y, D, image_shape=shape)
    np.testing.assert_array_equal(a.abundances, b.abundances)
    assert a.info["loss"] == b.info["loss"]
    assert not np.array_equal(a.abundances, c.abundances)


def test_loss_decreases_and_fit_improves():
    Y, D, _, shape = _scene(1)
    res = SUnCNN(max_iter=25, lr=1e-2, exp_weight=0.0, device="cpu").unmix(Y, D, image_shape=shape)
    loss = np.asarray(res.info["loss"])
    assert loss[-1] < 0.2 * loss[0]
    assert np.mean(loss[-5:]) < np.mean(loss[:5])
    # exp_weight = 0: the estimate is the output of the last forward pass, whose misfit is the last loss
    mse = float(np.mean((Y.astype(np.float64) - D @ res.abundances.astype(np.float64)) ** 2))
    assert mse == pytest.approx(loss[-1], rel=1e-4)


def test_float64_image_input_and_odd_sizes():
    Y, D, _, _ = _scene(2, H=7, W=3)
    res = SUnCNN(max_iter=2, device="cpu", dtype="float64", noisy_input=False).unmix(Y, D, image_shape=(7, 3))
    assert res.abundances.dtype == np.float64 and res.abundances.shape == (8, 21)
    np.testing.assert_allclose(res.abundances.sum(axis=0), 1, atol=1e-12)


def test_max_iter_caps_niters():
    Y, D, _, shape = _scene()
    assert SUnCNN(niters=2, max_iter=10, device="cpu").unmix(Y, D, image_shape=shape).info["iterations"] == 2


def test_parameter_validation():
    Y, D, _, shape = _scene()
    for bad in ({"exp_weight": 1.0}, {"lr": -1.0}, {"max_iter": 0}, {"device": "tpu"}, {"dtype": "float16"},
                {"niters": 0}):
        with pytest.raises(ParameterError):
            SUnCNN(**bad)
    with pytest.raises(InputError):
        SUnCNN(max_iter=1, device="cpu").unmix(Y, D)                    # spatial: image_shape required
    with pytest.raises(InputError):
        SUnCNN(max_iter=1, device="cpu").unmix(Y, D, image_shape=(5, 5))
    if not torch.cuda.is_available():
        with pytest.raises(ParameterError):
            SUnCNN(max_iter=1, device="cuda").unmix(Y, D, image_shape=shape)


# ---- hysupp.nn.blocks ------------------------------------------------------------------------

def test_crop_cat_centre_crop():
    a = torch.arange(2 * 4 * 6, dtype=torch.float32).reshape(1, 2, 4, 6)
    b = torch.zeros(1, 3, 3, 5)
    out = crop_cat([a, b])
    assert out.shape == (1, 5, 3, 5)
    assert torch.equal(out[:, :2], a[:, :, 0:3, 0:5])  # offsets (4-3)//2 = 0, (6-5)//2 = 0
    c = torch.zeros(1, 1, 2, 4)
    assert torch.equal(crop_cat([a, c])[:, :2], a[:, :, 1:3, 1:5])


def test_conv_block_layout_and_dip_net():
    blk = conv_block(3, 5, 3, pre_batch_norm=True)
    kinds = [type(m).__name__ for m in blk]
    assert kinds == ["BatchNorm2d", "ReflectionPad2d", "Conv2d", "BatchNorm2d", "LeakyReLU"]
    assert blk[-1].negative_slope == 0.1
    with seeded(0):
        net = DIPSkipNet(4, 3, hidden=6, head="block", downsample=1, depth=1)
        z = noise_input((1, 4, 5, 5))
    out = net(z)
    assert out.shape == (1, 3, 5, 5)
    torch.testing.assert_close(out.sum(dim=1), torch.ones(1, 5, 5))
    raw = DIPSkipNet(4, 3, hidden=6, output="none")(z)
    assert raw.shape == (1, 3, 5, 5) and (raw < 0).any()
    with pytest.raises(ParameterError):
        DIPSkipNet(4, 3, head="mlp")
    with pytest.raises(ParameterError):
        conv_block(3, 5, padding="circular")


def test_seeded_reproducible():
    with seeded(5):
        a = noise_input((2, 3))
    with seeded(5):
        b = noise_input((2, 3))
    assert torch.equal(a, b) and a.min() >= 0 and a.max() < 1


def test_output_ema():
    ema = OutputEMA(0.9)
    x0 = torch.tensor([1.0, 2.0])
    assert torch.equal(ema.update(x0), x0)
    x1 = torch.tensor([3.0, 0.0])
    torch.testing.assert_close(ema.update(x1), 0.9 * x0 + 0.1 * x1)
    x0[0] = 100.0  # the average holds its own copy
    torch.testing.assert_close(ema.value, torch.tensor([1.2, 1.8]))
    assert ema.count == 2
    with pytest.raises(ParameterError):
        OutputEMA(1.0)
