"""Fusion methods (pansharpening, HS-MS fusion, super-resolution); runs are in :mod:`hysupp.runs` (``hysupp.fuse``)."""
