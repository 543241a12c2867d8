"""Testing tools for method authors: :func:`check_method` runs the method contract checks
(:mod:`hysupp.methods.testing`) on a method class, like scikit-learn's ``check_estimator``.

>>> from hysupp.testing import check_method
>>> from hysupp.methods import get_method
>>> "determinism" in check_method(get_method("VCA"))
True
"""

from hysupp.methods.testing import (CHECKS, MethodCheckError, TinyProblem, check_method, method_checks, run_method,
                                    tiny_problem)

__all__ = ["CHECKS", "MethodCheckError", "TinyProblem", "check_method", "method_checks", "run_method", "tiny_problem"]
