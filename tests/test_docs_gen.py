"""The docs build's reST -> Markdown docstring converter (docs/gen/rst_math.py)."""

import importlib.util
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[1] / "docs" / "gen" / "rst_math.py"


@pytest.fixture(scope="module")
def convert():
    spec = importlib.util.spec_from_file_location("rst_math", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.convert


def test_math_roles_and_literals(convert):
    out = convert("Solve :math:`Ax = b` with :func:`~hysupp.optim.fcls` on ``Y``.")
    assert out == "Solve \\(Ax = b\\) with `fcls` on `Y`."


def test_math_block_aligned(convert):
    out = convert("Problem:\n\n.. math::\n\n    a &= b \\\\\n    c &= d\n\nDone.")
    assert "\\[\n\\begin{aligned}\na &= b \\\\\nc &= d\n\\end{aligned}\n\\]" in out
    assert out.rstrip().endswith("Done.")


def test_doctests_fenced_in_text_and_examples_after_sections(convert):
    out = convert("Intro.\n\n>>> x = [1][:2]\n>>> x\n[1]\n")
    assert "```pycon\n>>> x = [1][:2]\n>>> x\n[1]\n```" in out
    out = convert("Parameters\n----------\nx : int\n    a value.\n\n>>> f(1)\n2\n")
    assert "Examples\n--------\n>>> f(1)" in out
    out = convert("Example\n-------\n>>> f(1)\n2\n")
    assert out.startswith("Examples\n--------\n>>> f(1)")
