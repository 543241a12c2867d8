import pytest

from hysupp.errors import ParameterError
from hysupp.methods.params import Param, parse_param_strings, validate_params

SPEC = (
    Param("max_iter", int, 100, "iteration cap", low=1),
    Param("tol", float, 1e-6, "tolerance", low=0.0),
    Param("hard", bool, False, "hard thresholding"),
    Param("norm", str, "l1", "norm", choices=("l1", "l2")),
    Param("snr", float, None, "known SNR", optional=True),
)


def test_defaults_and_overrides():
    assert validate_params("M", SPEC, {}) == {"max_iter": 100, "tol": 1e-6, "hard": False, "norm": "l1", "snr": None}
    assert validate_params("M", SPEC, {"max_iter": 5.0, "norm": "L2"})["max_iter"] == 5
    assert validate_params("M", SPEC, {"norm": "L2"})["norm"] == "l2"


def test_cli_strings_are_coerced():
    got = parse_param_strings("M", SPEC, ["max_iter=7", "tol=1e-3", "hard=yes", "snr=none", "norm=l2"])
    assert got == {"max_iter": 7, "tol": 1e-3, "hard": True, "snr": None, "norm": "l2"}


@pytest.mark.parametrize("values, fragment", [
    ({"max_iter": 0}, "'max_iter' must be >= 1, got 0"),
    ({"max_iter": 2.5}, "'max_iter' must be an integer"),
    ({"max_iter": "abc"}, "'max_iter' must be an integer, got 'abc'"),
    ({"tol": "nan"}, "got NaN"),
    ({"hard": "maybe"}, "boolean"),
    ({"norm": "l3"}, "one of l1, l2"),
    ({"tol": None}, "got None"),
    ({"bogus": 1}, "unknown parameter(s) 'bogus'; valid: max_iter, tol, hard, norm, snr"),
])
def test_bad_values_name_method_parameter_and_value(values, fragment):
    with pytest.raises(ParameterError) as err:
        validate_params("M", SPEC, values)
    assert fragment in str(err.value)
    assert str(err.value).startswith("M")


def test_bad_cli_strings():
    with pytest.raises(ParameterError, match="expects key=value"):
        parse_param_strings("M", SPEC, ["max_iter"])
    with pytest.raises(ParameterError, match="unknown parameter 'nope'"):
        parse_param_strings("M", SPEC, ["nope=1"])
