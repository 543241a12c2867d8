"""Fusion methods (pansharpening, HS-MS fusion) and the :func:`fuse` entry point behind ``hysupp fuse``."""
