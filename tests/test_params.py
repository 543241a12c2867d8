import numpy as np
import pytest

from hysupp.errors import ParameterError
from hysupp.methods.params import (FINITE, ODD, POWER_OF_TWO, Check, Param, format_value, parse_param_strings,
                                   validate_params, with_parameters_section)

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


# ---------------------------------------------------------------------- open bounds, predicates, lists
RICH = (
    Param("step", float, 0.5, "gradient step", low=0.0, low_open=True),
    Param("frac", float, 0.5, "a fraction", low=0.0, high=1.0, high_open=True),
    Param("kernel", int, 3, "kernel size", low=1, check=ODD),
    Param("ratio", int, 4, "resolution ratio", low=1, check=POWER_OF_TWO),
    Param("betas", list[float], (1.0, 0.1), "candidate weights", low=0.0, check=FINITE),
    Param("sizes", list[int], [3, 5], "kernel sizes", low=1, check=ODD),
    Param("bands", list[str], None, "band names", optional=True),
    Param("path", str, None, "a file", optional=True),
)


@pytest.mark.parametrize("values, fragment", [
    ({"step": 0.0}, "M: parameter 'step' must be > 0.0, got 0.0"),
    ({"frac": 1.0}, "'frac' must be >= 0.0 and < 1.0, got 1.0"),
    ({"kernel": 4}, "'kernel' must be an odd integer >= 1, got 4"),
    ({"ratio": 6}, "'ratio' must be an integer >= 1 and a power of two, got 6"),
    ({"betas": "1,-2"}, "'betas' must be a list of finite numbers >= 0.0, got (1.0, -2.0)"),
    ({"betas": [1.0, float("inf")]}, "'betas' must be a list of finite numbers >= 0.0"),
    ({"betas": "1,abc"}, "'betas' must be a list of finite numbers >= 0.0, got '1,abc'"),
    ({"betas": 1.0}, "(e.g. 1,2,3 on the command line), got float 1.0"),
    ({"betas": ""}, "(at least one value)"),
    ({"sizes": [3, 4]}, "'sizes' must be a list of odd integers >= 1, got (3, 4)"),
])
def test_open_bounds_predicates_and_lists_are_validated(values, fragment):
    with pytest.raises(ParameterError) as err:
        validate_params("M", RICH, values)
    assert fragment in str(err.value)


def test_valid_values_of_the_rich_spec():
    got = validate_params("M", RICH, {"step": 1e-9, "frac": 0.0, "kernel": 5, "ratio": 8, "betas": (2, 0),
                                      "sizes": np.array([1, 7]), "bands": "B02, B03"})
    assert got["betas"] == (2.0, 0.0) and got["sizes"] == (1, 7) and got["bands"] == ("B02", "B03")
    assert validate_params("M", RICH, {})["sizes"] == (3, 5)          # list defaults become tuples


def test_lists_parse_from_cli_strings_and_round_trip():
    got = parse_param_strings("M", RICH, ["betas=[10, 1;0.1]", "sizes=3,5,7", "bands=none", "path=null"])
    assert got == {"betas": (10.0, 1.0, 0.1), "sizes": (3, 5, 7), "bands": None, "path": None}
    for p in RICH + SPEC:
        if p.default is None and not p.optional:
            continue
        text = f"{p.name}={format_value(p, p.default)}"
        assert parse_param_strings("M", RICH + SPEC, [text])[p.name] == p.default, text


def test_to_dict_and_describe():
    d = RICH[4].to_dict()
    assert d["type"] == "list[float]" and d["default"] == [1.0, 0.1] and d["check"] == "finite"
    assert RICH[0].to_dict()["low_open"] is True and RICH[0].describe_range() == "> 0.0"
    assert RICH[2].describe() == "an odd integer >= 1" and RICH[2].describe_range() == ">= 1 and odd"
    assert SPEC[3].describe() == "one of l1, l2"
    assert RICH[6].annotation == list[str] | None


def test_declaration_errors():
    with pytest.raises(TypeError, match="type must be int, float, bool, str or a list"):
        Param("x", dict, {}, "a mapping")
    with pytest.raises(TypeError, match="not a Python identifier"):
        Param("max-iter", int, 1, "bad name")
    custom = Param("n", int, 6, "a multiple of three", check=Check(lambda v: v % 3 == 0, "a multiple of 3"))
    with pytest.raises(ParameterError, match="'n' must be an integer a multiple of 3, got 4"):
        validate_params("M", (custom,), {"n": 4})


def test_parameters_section_rule():
    spec = SPEC[:2]
    generated = with_parameters_section("Summary.\n\n    Long text.\n\n    Examples\n    --------\n    >>> 1\n    1\n", spec)
    assert generated.index("Parameters\n----------") < generated.index("Examples")
    assert "max_iter : int, default 100\n    iteration cap. Allowed: >= 1." in generated
    # a hand-written section is kept; the parameters it does not name are appended to it
    hand = "Summary.\n\nParameters\n----------\nmax_iter : int\n    Hand-written.\n\nNotes\n-----\nText.\n"
    merged = with_parameters_section(hand, spec)
    assert merged.count("max_iter") == 1 and "Hand-written." in merged
    assert merged.index("tol : float, default 1e-06") < merged.index("Notes")
    assert with_parameters_section(merged, spec) == merged                # idempotent
    assert with_parameters_section(None, spec) is None
