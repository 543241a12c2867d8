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


class DatasetError(HysuppError, OSError):
    """A registered data set could not be provided: unknown name, a file whose SHA-256 differs from
    the registry's (the message names the data set, the file, the expected and found checksums and the
    remedy), or a file that is missing while offline or that no source could provide (the message
    names the URL and the cache path where the file can be placed by hand). An ``OSError``, like the
    errors of a file that cannot be opened."""


# ------------------------------------------------------------------------------------------ warnings
class HysuppWarning(UserWarning):
    """Base class of every warning hysupp raises: something doubtful that still ran.

    Library code raises them with :func:`warnings.warn` (a library prints nothing by itself: Python
    shows each warning once on stderr, and callers can filter them by category); the CLI prints
    them on stderr and every run records them in ``run.json`` under ``warnings``.
    """


class UnitsWarning(HysuppWarning):
    """Units or scale were guessed or harmonised: integer/float data read as reflectance x 10^4, a
    GDAL/ENVI scale factor applied, an image and a library in different units."""


class LayoutWarning(HysuppWarning):
    """A file's layout or axis order was decided by a heuristic that could be wrong."""


class ConvergenceWarning(HysuppWarning):
    """An iterative method stopped at its iteration cap without meeting its tolerance, or its
    objective grew (diverging runs raise :class:`DivergenceError`)."""


class ConditioningWarning(HysuppWarning):
    """A linear system was ill-conditioned (e.g. nearly collinear endmembers): the result may be
    inaccurate; the record holds the condition number or residual."""


class DegeneratePixelsWarning(HysuppWarning):
    """Input pixels that a method cannot explain: negative, all-zero, constant, saturated."""


class DegenerateResultWarning(HysuppWarning):
    """A result that is formally valid but physically doubtful: an all-zero endmember, an endmember
    far outside the data's range, an implausible estimated SRF/PSF, fused values far outside the
    inputs' range."""


class ImplausibleEstimateWarning(DegenerateResultWarning):
    """An estimate made from the data (e.g. the SRF and PSF of an HS-MS pair,
    :func:`hysupp.fusion.hsms.responses.estimate_srf_psf`) looks unphysical: large fit residual,
    every SRF row peaking at one band, a PSF off-centre or wider than its window. The run goes on;
    the diagnostic is in the result's ``info``."""


class FusedRangeWarning(DegenerateResultWarning):
    """A fused image has values far outside the range of the images it was made from
    (:func:`hysupp.metrics.range.fused_range_check`)."""


class SensorWarning(HysuppWarning):
    """The sensor physics of a fusion run is assumed, not known: no sensor given (the generic MTF
    gains are used), gains that are the table's stand-in for an unpublished value, or a sensor
    whose band count differs from the image's."""
