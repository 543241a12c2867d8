"""Figures: abundance-map grids, endmember spectra, RGB quick-looks (matplotlib, no display needed).

Example
-------
>>> import numpy as np, matplotlib
>>> matplotlib.use("Agg")
>>> from hysupp.viz import plot_abundance_maps
>>> fig = plot_abundance_maps(np.random.default_rng(0).random((3, 8, 8)), ["a", "b", "c"])
>>> len(fig.axes) >= 3
True
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def _pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (unless one was chosen already)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


pyplot = _pyplot   # public name, for figures drawn outside this module (hysupp.bench.figures)


def _figure(n_panels: int, panel_size: float = 2.4):
    plt = _pyplot()
    cols = min(n_panels, 6)
    rows = int(np.ceil(n_panels / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(panel_size * cols + 0.6, panel_size * rows + 0.4),
                             squeeze=False, constrained_layout=True)
    return fig, axes.ravel()


def plot_abundance_maps(abundances: np.ndarray, names: Sequence[str] | None = None, *,
                        title: str | None = None, vmin: float = 0.0, vmax: float = 1.0):
    """One panel per endmember with a shared [vmin, vmax] colour scale; returns the Figure.

    ``abundances`` is ``(p, H, W)``; masked pixels (NaN) are shown blank.
    """
    p = abundances.shape[0]
    names = list(names) if names is not None else [f"endmember {k + 1}" for k in range(p)]
    fig, axes = _figure(p)
    image = None
    for k, ax in enumerate(axes):
        ax.set_axis_off()
        if k < p:
            image = ax.imshow(abundances[k], vmin=vmin, vmax=vmax, cmap="viridis", interpolation="nearest")
            ax.set_title(str(names[k])[:28], fontsize=8)
    if image is not None:
        fig.colorbar(image, ax=list(axes[:p]), shrink=0.8, label="abundance")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_abundance_grid(maps: dict[str, np.ndarray], names: Sequence[str] | None = None, *,
                        title: str | None = None, vmin: float = 0.0, vmax: float = 1.0,
                        panel_size: float = 1.6):
    """A rows x endmembers grid of abundance maps (e.g. the truth and one row per method); returns
    the Figure.

    ``maps`` maps a row label to a ``(p, H, W)`` array; rows with fewer maps leave blank panels.

    >>> import matplotlib; matplotlib.use("Agg")
    >>> rng = np.random.default_rng(0)
    >>> fig = plot_abundance_grid({"truth": rng.random((2, 4, 4)), "FCLS": rng.random((2, 4, 4))}, ["a", "b"])
    >>> len(fig.axes)  # 2 x 2 panels and a colour bar
    5
    """
    plt = _pyplot()
    labels = list(maps)
    p = max(np.asarray(m).shape[0] for m in maps.values())
    names = list(names) if names is not None else [f"endmember {k + 1}" for k in range(p)]
    fig, axes = plt.subplots(len(labels), p, figsize=(panel_size * p + 1.4, panel_size * len(labels) + 0.5),
                             squeeze=False, constrained_layout=True)
    image = None
    for i, label in enumerate(labels):
        m = np.asarray(maps[label], dtype=np.float32)
        for k in range(p):
            ax = axes[i, k]
            ax.set_xticks([])
            ax.set_yticks([])
            if k < m.shape[0]:
                image = ax.imshow(m[k], vmin=vmin, vmax=vmax, cmap="viridis", interpolation="nearest")
            else:
                ax.set_axis_off()
            if i == 0:
                ax.set_title(str(names[k])[:20] if k < len(names) else "", fontsize=8)
            if k == 0:
                ax.set_ylabel(str(label)[:14], fontsize=8)
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6, label="abundance")
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def rgb_composite(cube: np.ndarray, bands: Sequence[int] | None = None, *,
                  percentiles: tuple[float, float] = (1.0, 99.0)) -> np.ndarray:
    """An ``(H, W, 3)`` image in [0, 1] from three bands of ``cube`` ``(L, H, W)`` (``bands``;
    default ``(2, 1, 0)`` when L >= 3, else the first band as grey), each channel stretched
    between its ``percentiles``.

    >>> rgb_composite(np.arange(48.0).reshape(3, 4, 4)).shape
    (4, 4, 3)
    """
    L = cube.shape[0]
    if bands is None:
        bands = (2, 1, 0) if L >= 3 else (0, 0, 0)
    rgb = np.stack([np.asarray(cube[int(b)], dtype=np.float64) for b in bands], axis=-1)
    lo = np.nanpercentile(rgb, percentiles[0], axis=(0, 1))
    hi = np.nanpercentile(rgb, percentiles[1], axis=(0, 1))
    return np.clip((rgb - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0, 1.0)


def plot_rgb(cube: np.ndarray, bands: Sequence[int] | None = None, *, title: str | None = None):
    """A quick-look RGB figure of ``cube`` (:func:`rgb_composite`); returns the Figure."""
    fig, axes = _figure(1, panel_size=5.0)
    axes[0].imshow(rgb_composite(cube, bands), interpolation="nearest")
    axes[0].set_axis_off()
    if title:
        axes[0].set_title(title, fontsize=10)
    return fig


def plot_endmembers(endmembers: np.ndarray, wavelengths: np.ndarray | None = None,
                    names: Sequence[str] | None = None, *, reference: np.ndarray | None = None,
                    title: str | None = None):
    """Endmember spectra ``(L, p)`` against wavelength, optionally over reference spectra (dashed)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    L, p = endmembers.shape
    x = np.arange(L) if wavelengths is None else wavelengths
    names = list(names) if names is not None else [f"endmember {k + 1}" for k in range(p)]
    fig, ax = plt.subplots(figsize=(7, 4), constrained_layout=True)
    for k in range(p):
        (line,) = ax.plot(x, endmembers[:, k], lw=1.2, label=str(names[k])[:28])
        if reference is not None and k < reference.shape[1]:
            ax.plot(x, reference[:, k], ls="--", lw=0.9, color=line.get_color())
    ax.set_xlabel("band" if wavelengths is None else "wavelength (nm)")
    ax.set_ylabel("reflectance")
    ax.legend(fontsize=7, ncol=2)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def save_figure(fig, path, *, overwrite: bool = False, dpi: int = 110) -> None:
    """Write a figure as PNG atomically (never leaves a partial file), then close it."""
    import matplotlib.pyplot as plt

    from hysupp.io.atomic import atomic_output

    try:
        with atomic_output(path, overwrite=overwrite) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        plt.close(fig)
