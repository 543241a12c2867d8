"""The method contract (hysupp.testing.check_method) over every registered method, and the checks
themselves: each catches the defect it is named after, with a message naming the method and the check."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np
import pytest

from hysupp.errors import InputError, ParameterError
from hysupp.methods import ODD, Param, SupervisedUnmixer, UnmixingResult, available, get_method
from hysupp.methods.base import STANDARD_INFO_KEYS
from hysupp.testing import CHECKS, MethodCheckError, check_method, method_checks, run_method, tiny_problem


@pytest.fixture(autouse=True)
def _one_thread():
    torch = pytest.importorskip("torch")
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("cls", available(), ids=lambda c: f"{c.task}:{c.name}")
def test_registered_method_follows_the_contract(cls):
    assert check_method(cls) == list(CHECKS)


# ---------------------------------------------------------------------- the checks catch defects
class Good(SupervisedUnmixer):
    """Equal abundances (a contract-test method).

    Solves nothing: every pixel gets :math:`a = \\mathbf 1 / p`.
    """

    name: ClassVar[str] = "GoodDemo"
    params: ClassVar[tuple[Param, ...]] = (
        Param("scale", float, 1.0, "multiplier", low=0.0, low_open=True),
        Param("k", int, 3, "an odd size", low=1, check=ODD),
        Param("dtype", str, "float32", "output dtype", choices=("float32", "float64")),
    )
    reference: ClassVar[str] = "hysupp test suite"

    def _unmix(self, Y: np.ndarray, E: np.ndarray) -> UnmixingResult:
        p = E.shape[1]
        A = np.full((p, Y.shape[1]), self.scale / p, dtype=self.dtype)
        return UnmixingResult(abundances=A, endmembers=E, info={"n": p})


def test_a_correct_method_passes_and_gets_the_standard_keys():
    assert check_method(Good) == list(CHECKS)
    res = Good().unmix(*(lambda t: (t.Y, t.E))(tiny_problem("supervised")))
    assert set(STANDARD_INFO_KEYS) <= set(res.info) and res.info["n"] == 3 and res.info["device"] == "cpu"
    assert str(inspect.signature(Good)) == "(*, scale: float = 1.0, k: int = 3, dtype: str = 'float32')"
    assert "k : int, default 3" in Good.__doc__ and "Allowed: >= 1 and odd." in Good.__doc__


def _variant(**attrs: Any) -> type:
    return type("Variant", (Good,), {"__doc__": Good.__doc__, "name": "VariantDemo", **attrs})


def _fails(cls: type, check: str, fragment: str) -> None:
    with pytest.raises(MethodCheckError) as err:
        check_method(cls)
    msg = str(err.value)
    assert msg.startswith(f"check_method({cls.name}) [{check}]:"), msg
    assert fragment in msg, msg


def test_declaration_defects_are_caught():
    _fails(_variant(reference=""), "declaration", "reference")
    _fails(_variant(params=Good.params + (Param("tol", float, -1.0, "tolerance", low=0.0),)), "declaration",
           "the default of parameter 'tol' is invalid")
    _fails(_variant(output_dtype="float16"), "declaration", "output_dtype")
    _fails(_variant(fast_params={"iters": 2}), "declaration", "fast_params names unknown parameters ['iters']")
    stale = _variant(__doc__="Doc.\n\nParameters\n----------\nscale : float\n    x.\ngone : int\n    y.\n")
    _fails(stale, "declaration", "not parameters ['gone']")

    class Nothing(SupervisedUnmixer):
        """Implements no _unmix."""

        name = "NothingDemo"
        reference = "test"

    _fails(Nothing, "declaration", "implements neither _unmix() (the template's hook) nor unmix()")


def test_parameter_validation_defects_are_caught():
    class Lenient(Good):
        """Accepts anything for k (validation bypassed)."""

        name = "LenientDemo"

        def __init__(self, **kwargs: Any) -> None:
            k = kwargs.pop("k", 3)
            super().__init__(**kwargs)
            self.k = k

    _fails(Lenient, "parameter_validation", "k=None (None) was accepted; expected ParameterError")


def test_output_defects_are_caught():
    def wrong_shape(self, Y, E):
        return UnmixingResult(abundances=np.zeros((E.shape[1] + 1, Y.shape[1]), np.float32), endmembers=E)

    def non_finite(self, Y, E):
        A = np.full((E.shape[1], Y.shape[1]), np.nan, np.float32)
        return UnmixingResult(abundances=A, endmembers=E)

    def always_float64(self, Y, E):
        return UnmixingResult(abundances=np.full((E.shape[1], Y.shape[1]), 1 / E.shape[1]), endmembers=E)

    def random(self, Y, E):
        A = np.random.default_rng().dirichlet(np.ones(E.shape[1]), Y.shape[1]).T.astype(self.dtype)
        return UnmixingResult(abundances=A, endmembers=E)

    def bad_info(self, Y, E):
        res = Good._unmix(self, Y, E)
        res.info["solver"] = object()
        return res

    _fails(_variant(_unmix=wrong_shape), "outputs", "abundances has shape (4, 64), expected (3, 64)")
    _fails(_variant(_unmix=non_finite), "outputs", "abundances has 192 non-finite values")
    _fails(_variant(_unmix=always_float64), "dtypes", "float32 inputs: the main output has dtype float64")
    _fails(_variant(_unmix=random), "determinism", "gave different abundances")
    _fails(_variant(_unmix=bad_info), "info", "object at 0x")

    def vague_convergence(self, Y, E):
        res = Good._unmix(self, Y, E)
        res.info["converged"] = "maybe"
        return res

    _fails(_variant(_unmix=vague_convergence), "info", "info['converged'] must be a bool")


def test_stochastic_declaration_defects_are_caught():
    seeded = Good.params + (Param("seed", int, 0, "seed of the perturbation"),)

    def perturbed(self, Y, E):    # a seeded random step: the seed changes the output
        p = E.shape[1]
        A = np.random.default_rng(self.seed).dirichlet(np.ones(p), Y.shape[1]).T.astype(self.dtype)
        return UnmixingResult(abundances=A, endmembers=E)

    def votes(self, Y, E):        # a seeded draw seen only in info (like PPI's votes)
        res = Good._unmix(self, Y, E)
        res.info["votes"] = np.random.default_rng(self.seed).integers(0, 100, 3).tolist()
        return res

    assert check_method(_variant(params=seeded, _unmix=perturbed, stochastic=True)) == list(CHECKS)
    assert check_method(_variant(params=seeded, _unmix=votes, stochastic=True)) == list(CHECKS)
    assert check_method(_variant(params=seeded)) == list(CHECKS)    # a seed that reaches nothing random
    _fails(_variant(params=seeded, _unmix=perturbed), "stochastic",
           "seed 1 changed abundances (max difference")
    _fails(_variant(params=seeded, stochastic=True), "stochastic",
           "declared stochastic but seeds 0..3 gave identical outputs and info")
    _fails(_variant(stochastic=True), "stochastic", "declared stochastic but has no 'seed' parameter")
    # a parameter can turn the random step off (is_stochastic), as AA's randominit does
    optional = _variant(params=seeded, _unmix=perturbed, stochastic=True,
                        is_stochastic=lambda self: self.scale != 1.0)
    _fails(optional, "stochastic", "seed 1 changed abundances")


def test_invalid_input_defects_are_caught():
    class Unchecked(Good):
        """Skips the input checks."""

        name = "UncheckedDemo"

        @staticmethod
        def check_inputs(Y, E):
            return np.asarray(Y), np.asarray(E)

    _fails(Unchecked, "invalid_inputs", "a NaN pixel: accepted; expected InputError")


def test_a_legacy_public_override_still_works_and_passes():
    """A plugin written before the templates (it overrides ``unmix`` itself) keeps its method; the
    standard info keys it does not set are added around it."""

    class Legacy(SupervisedUnmixer):
        """Equal abundances, pre-template style."""

        name = "LegacyDemo"
        params = (Param("scale", float, 1.0, "multiplier", low=0.0),)
        reference = "hysupp test suite"

        def unmix(self, Y, E):
            Y, E = self.check_inputs(Y, E)
            A = np.full((E.shape[1], Y.shape[1]), self.scale / E.shape[1], dtype=np.float32)
            return UnmixingResult(abundances=A, endmembers=E, info={"plugin": True, "wall_time": 1.5})

    assert check_method(Legacy) == list(CHECKS)
    t = tiny_problem("supervised")
    info = Legacy().unmix(t.Y, t.E).info
    assert info["plugin"] is True and info["wall_time"] == 1.5 and info["dtype"] == "float32"
    with pytest.raises(InputError):
        Legacy().unmix(t.Y, t.E[:-1])


def test_checks_are_named_and_share_the_runs():
    names = [name for name, _ in method_checks(get_method("FCLS"))]
    assert names == list(CHECKS)
    with pytest.raises(ParameterError, match="must be an odd integer >= 1, got 4"):
        Good(k=4)


def test_tiny_problems_are_consistent():
    t = tiny_problem("semi-supervised")
    assert t.Y.shape == (12, 64) and t.D.shape == (12, 8) and t.image_shape == (8, 8)
    # the library holds the endmembers
    assert all(np.abs(t.D - t.E[:, [k]]).max(axis=0).min() == 0 for k in range(t.p))
    ps = tiny_problem("pansharpening")
    assert ps.low.shape == (4, 24, 24) and ps.high.shape == (96, 96)
    hm = tiny_problem("hs-ms-fusion")
    assert hm.low.shape == (8, 8, 8) and hm.high.shape == (3, 32, 32) and np.allclose(hm.srf.sum(1), 1)
    assert tiny_problem("super-resolution").low.shape == (4, 16, 16)


# ---------------------------------------------------------------------- bounds tightened to > 0
@pytest.mark.parametrize("name, param", [("UnDIP", "lr"), ("CNNAEU", "lr"), ("MiSiCNet", "lr"), ("PGMSU", "lr"),
                                         ("ELMM", "lambda_s"), ("TV", "alpha"), ("TV", "c")])
def test_zero_breaks_the_methods_whose_bound_became_open(name, param):
    """These parameters were declared ``>= 0`` but 0 breaks the method (the optimiser refuses a zero
    learning rate, ELMM's scaling update divides by lambda_s, TV's majoriser and dual step divide by
    alpha and c): now refused at construction."""
    from hysupp.errors import HysuppError

    cls = get_method(name)
    with pytest.raises(ParameterError, match=f"'{param}' must be > 0.0"):
        cls(**{param: 0.0})
    cpu = {"device": "cpu"} if "device" in cls.__signature__.parameters else {}
    method = cls(**cls.fast_params, **cpu)
    method.config[param] = 0.0          # bypass the declaration: what 0 did before
    setattr(method, param, 0.0)
    with np.errstate(all="ignore"):
        try:
            result = run_method(method, tiny_problem(cls.task))
        except HysuppError:
            return
    out = result.fused if hasattr(result, "fused") else result.abundances
    assert not np.isfinite(out).all()
