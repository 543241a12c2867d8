"""Physics: forward models and degradations (DESIGN §2).

Noise models live in :mod:`hysupp.physics.noise`.
"""

from __future__ import annotations

from hysupp.physics.noise import add_awgn, noise_sigma, snr_db

__all__ = ["add_awgn", "noise_sigma", "snr_db"]
