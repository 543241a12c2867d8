"""Hyperspectral-multispectral fusion and hyperspectral pansharpening (task ``hs-ms-fusion``).

Shared pieces (the HS spatial response, degradation, subspace) are in :mod:`.common`.
"""
