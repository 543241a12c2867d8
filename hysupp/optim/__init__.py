"""Shared numerical kernels (DESIGN §3): simplex projection, batched FCLS, ...

Methods compose these; no method carries its own copy.
"""

from hysupp.optim.fcls import fcls, fcls_kkt_violation
from hysupp.optim.simplex import project_simplex

__all__ = ["fcls", "fcls_kkt_violation", "project_simplex"]
