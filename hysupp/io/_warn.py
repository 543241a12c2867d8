"""How the readers warn: :func:`warn_user` attributes a warning to the user's line."""

from __future__ import annotations

import os
import sys
import warnings

__all__ = ["warn_user"]


def warn_user(message: str, category: type[Warning]) -> Warning:
    """Emit ``category(message)`` attributed to the first caller outside the ``hysupp`` package
    (the user's line, whatever the depth of the reader that decided), and return the warning."""
    pkg = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
    level, frame = 2, sys._getframe(1)   # stacklevel 2 = the caller of warn_user
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(pkg):
        frame, level = frame.f_back, level + 1
    warning = category(message)
    warnings.warn(warning, stacklevel=level)
    return warning
