"""The fusion pair: the data model of a fusion problem (DESIGN §1, §7).

A fusion method needs a *low* spatial resolution image (MS for pansharpening, HS for HS-MS
fusion), a *high* spatial resolution image (PAN, or MS) and, to be scored, the *reference* it
should recover. :class:`FusionPair` holds the three :class:`~hysupp.scene.Scene` objects, the
resolution ratio and the protocol that says how they were made (a JSON value: every operator's
``to_dict()``, sensor, phase, SNRs, seeds, source, crop), and checks that their sizes agree.

It sits beside :class:`~hysupp.scene.Scene`, below the physics: the pairs are made by
:mod:`hysupp.simulate.fusion` (Wald's protocol, pairs simulated from a high-resolution cube,
Yokoya's HS-MS simulation) and written and read by :mod:`hysupp.io.pair` (which also gives the
``lms`` upsampling of the low input, :func:`hysupp.io.pair.upsampled_low`).

Example
-------
>>> import numpy as np
>>> from hysupp.scene import Scene
>>> lo, hi = Scene(cube=np.zeros((3, 2, 2))), Scene(cube=np.zeros((1, 8, 8)))
>>> pair = FusionPair(None, lo, hi, 4, {"protocol": "example"}, "pansharpening")
>>> pair.full_resolution, pair.summary()["low"]
(True, [3, 2, 2])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hysupp.errors import InputError
from hysupp.scene import Scene

__all__ = ["KINDS", "FusionPair", "attach_protocol", "check_ratio"]

#: The two kinds of pair.
KINDS = ("pansharpening", "hs-ms")


def check_ratio(ratio: Any) -> int:
    """The resolution ratio of a pair as an ``int`` (an integer >= 2; integral floats accepted).

    >>> check_ratio(4.0)
    4
    """
    if isinstance(ratio, (bool, np.bool_)) or not isinstance(ratio, (int, float, np.integer, np.floating)):
        raise InputError(f"ratio must be an integer >= 2 (the resolution ratio), got {ratio!r}")
    f = float(ratio)
    if not math.isfinite(f) or not f.is_integer():
        raise InputError(f"ratio must be an integer >= 2 (the resolution ratio), got {ratio!r}: fusion pairs "
                         f"need an integer ratio")
    if f < 2:
        raise InputError(f"ratio must be an integer >= 2 (the resolution ratio), got {ratio!r}")
    return int(f)


@dataclass
class FusionPair:
    """Inputs of a fusion method, the reference it should recover and how they were made.

    Parameters
    ----------
    reference : Scene or None
        The ground-truth high-resolution cube ``(L, H, W)`` (the original MS in Wald's protocol,
        the HR MS or HS cube for simulated pairs); ``None`` for a full-resolution pair.
    low : Scene
        The low spatial resolution input ``(L, H / ratio, W / ratio)``: MS for pansharpening,
        HS for HS-MS fusion.
    high : Scene
        The high spatial resolution input ``(C, H, W)``: PAN (``C = 1``) or MS.
    ratio : int
        Resolution ratio between ``high`` and ``low``.
    protocol : dict
        JSON-serialisable description: every operator's ``to_dict()``, sensor, phase, SNRs,
        seeds, source, crop (see :mod:`hysupp.simulate.fusion`).
    kind : {"pansharpening", "hs-ms"}

    Raises
    ------
    InputError
        Inconsistent sizes: ``high`` must be ``ratio`` times ``low`` on both axes, ``reference``
        the size of ``high`` with the bands of ``low``, a pansharpening ``high`` one band.

    Examples
    --------
    >>> import numpy as np
    >>> from hysupp import Scene
    >>> lo, hi = Scene(cube=np.zeros((3, 2, 2))), Scene(cube=np.zeros((1, 8, 8)))
    >>> FusionPair(None, lo, hi, 4, {}, "pansharpening").full_resolution
    True
    >>> FusionPair(None, lo, Scene(cube=np.zeros((1, 8, 6))), 4)   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    hysupp.errors.InputError: fusion pair: high is 8 x 6 pixels, expected ratio 4 x low (2 x 2) = 8 x 8
    """

    reference: Scene | None
    low: Scene
    high: Scene
    ratio: int
    protocol: dict[str, Any] = field(default_factory=dict)
    kind: str = "pansharpening"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"fusion pair: kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        self.ratio = check_ratio(self.ratio)
        for role in ("low", "high"):
            s = getattr(self, role)
            if not isinstance(s, Scene):
                raise InputError(f"fusion pair: {role} must be a Scene, got {type(s).__name__}")
            s.require_cube()
        h, w = self.low.image_shape
        H, W = self.high.image_shape
        r = self.ratio
        if (H, W) != (h * r, w * r):
            raise InputError(f"fusion pair: high is {H} x {W} pixels, expected ratio {r} x low ({h} x {w}) = "
                             f"{h * r} x {w * r}")
        if self.kind == "pansharpening" and self.high.n_bands != 1:
            raise InputError(f"fusion pair: a pansharpening pair's high input is a PAN with 1 band, "
                             f"got {self.high.n_bands}")
        if self.reference is not None:
            if not isinstance(self.reference, Scene):
                raise InputError(f"fusion pair: reference must be a Scene or None, got "
                                 f"{type(self.reference).__name__}")
            L, Hr, Wr = self.reference.shape
            if (Hr, Wr) != (H, W):
                raise InputError(f"fusion pair: reference is {Hr} x {Wr} pixels, the high input {H} x {W}")
            if L != self.low.n_bands:
                raise InputError(f"fusion pair: reference has {L} bands, the low input {self.low.n_bands}")

    @property
    def full_resolution(self) -> bool:
        """Whether the pair has no reference (a real pair at its native resolution)."""
        return self.reference is None

    def summary(self) -> dict[str, Any]:
        """A short JSON-serialisable description."""
        return {"kind": self.kind, "ratio": self.ratio,
                "reference": None if self.reference is None else list(self.reference.shape),
                "low": list(self.low.shape), "high": list(self.high.shape),
                "protocol": self.protocol.get("protocol"), "sensor": self.protocol.get("sensor")}


def attach_protocol(pair: FusionPair) -> FusionPair:
    """Every scene of the pair carries the protocol too (``extras['protocol']``); returns ``pair``."""
    for s in (pair.reference, pair.low, pair.high):
        if s is not None:
            s.extras["protocol"] = pair.protocol
    return pair
