"""Shared numerical kernels (DESIGN §3): simplex projection, batched FCLS, proximal operators, TV.

Methods compose these; no method carries its own copy.
"""

from hysupp.optim.fcls import fcls, fcls_kkt_violation
from hysupp.optim.prox import (
    group_soft_threshold,
    hard_threshold,
    project_nonneg,
    soft_threshold,
)
from hysupp.optim.simplex import project_simplex
from hysupp.optim.tv import (
    IdentityPlusDtDSolver,
    gradient,
    gradient_adjoint,
    solve_identity_plus_dtd,
    tv_norm,
    tv_soft_threshold,
)

__all__ = [
    "IdentityPlusDtDSolver",
    "fcls",
    "fcls_kkt_violation",
    "gradient",
    "gradient_adjoint",
    "group_soft_threshold",
    "hard_threshold",
    "project_nonneg",
    "project_simplex",
    "soft_threshold",
    "solve_identity_plus_dtd",
    "tv_norm",
    "tv_soft_threshold",
]
