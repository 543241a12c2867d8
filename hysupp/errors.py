"""Exceptions raised by hysupp.

Every error a user can cause derives from :class:`HysuppError`, so callers (and the CLI) can tell
bad input from bugs. Messages name the file or array, what was expected and what was found.
"""

from __future__ import annotations


class HysuppError(Exception):
    """Base class of every error caused by user input or configuration."""


class InputError(HysuppError, ValueError):
    """An input file or array is malformed, ambiguous or inconsistent.

    Examples: a ``.mat`` file whose layout fits two interpretations, a cube with NaN pixels, an
    endmember matrix with the wrong number of bands.
    """


class LayoutError(InputError):
    """A file's variables do not fit any known layout, or fit several (``key=`` resolves it)."""


class ParameterError(HysuppError, ValueError):
    """A method parameter is unknown, of the wrong type or out of range."""


class UnknownMethodError(HysuppError, KeyError):
    """No registered method has the requested name (within the requested task)."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else ""


class OutputExistsError(HysuppError, FileExistsError):
    """An output path exists and overwriting was not requested."""


class DivergenceError(HysuppError, FloatingPointError):
    """An iterative method's iterates (or loss) became NaN/Inf; the message names the method and the
    iteration (raised through :func:`hysupp.optim.guards.check_finite`)."""


class DegenerateResultWarning(UserWarning):
    """A method returned a result that runs but is doubtful: an all-zero or non-finite endmember, or
    one outside the data's range (see :func:`hysupp.metrics.unmixing.degenerate_endmembers`). The
    details are also recorded in the result's ``info["degenerate_endmembers"]``."""
