"""Unmixing simulation recipes: linear mixtures of USGS signatures with known abundances.

Every recipe is deterministic for a given ``seed``: endmembers are drawn from the bundled USGS
1995 library (pairwise spectral angle at least ``min_angle`` degrees), abundances from the recipe's
model, then optional AWGN at ``snr`` dB (HySUPP's definition, :func:`hysupp.physics.add_awgn`)
from an independent stream of the same seed.

Abundance models
----------------
- ``dirichlet``: ``a ~ Dir(alpha 1)``, rejected and redrawn while ``max(a) > max_abundance``
  (the MR70/MR85/MR100 "maximum purity" family of Nascimento & Bioucas-Dias, IEEE TGRS 2005 and
  Bioucas-Dias's SISAL experiments); optional pure pixels.
- ``sim1``: no pure pixels (``max(a) <= 0.75`` by default) with a fraction of the pixels on the
  simplex edges (mixtures of only two endmembers) -- the regime where pure-pixel extractors fail
  and minimum-volume methods do not.
- ``grf``: smooth maps: ``p`` Gaussian random fields ``z_k`` (white noise filtered by a Gaussian of
  width ``length_scale`` pixels, standardised), ``a = softmax(z / temperature)``.
- ``variability``: Dirichlet abundances and the extended linear mixing model (Drumetz et al.,
  IEEE TIP 2016): ``y_n = psi_n E a_n + E_n' a_n`` with a per-pixel scaling ``psi_n ~ U[lo, hi]``
  and a smooth per-pixel perturbation of each endmember (relative amplitude ``perturbation``).

Example
-------
>>> from hysupp.simulate import simulate
>>> s = simulate("sim1", p=4, height=20, width=20, seed=0)
>>> bool(s.abundances.max() <= 0.75 + 1e-12), s.endmembers.shape
(True, (224, 4))
"""

from __future__ import annotations

import numpy as np

from hysupp.errors import InputError
from hysupp.methods.params import Param
from hysupp.scene import Scene
from hysupp.simulate.recipes import Recipe, register_recipe

_DTYPES = ("float32", "float64")


# ---------------------------------------------------------------------------------------- pieces
def select_endmembers(library: np.ndarray, p: int, min_angle_deg: float,
                      rng: np.random.Generator, max_tries: int = 200) -> np.ndarray:
    """``p`` random library columns whose pairwise spectral angles are all >= ``min_angle_deg``.

    The library is visited in a random order and pruned greedily
    (:func:`hysupp.libraries.prune_library` on the permuted columns); the first ``p`` kept columns
    are returned. The draw is repeated (up to ``max_tries``) until ``p`` columns are found.
    """
    from hysupp.libraries import prune_library

    for _ in range(max_tries):
        order = rng.permutation(library.shape[1])
        kept = order[prune_library(library[:, order], min_angle_deg)]
        if kept.size >= p:
            return kept[:p]
    raise InputError(f"could not find {p} library signatures with pairwise angles >= {min_angle_deg} deg; "
                     f"lower min_angle or p")


def dirichlet_abundances(p: int, n: int, rng: np.random.Generator, *, alpha: float = 1.0,
                         max_abundance: float = 1.0, max_rounds: int = 10_000) -> np.ndarray:
    """``(p, n)`` Dirichlet(alpha) abundances with every entry <= ``max_abundance`` (rejection)."""
    if max_abundance < 1.0 / p - 1e-12:
        raise InputError(f"max_abundance {max_abundance} is below 1/p = {1 / p:.4f}: no abundance vector "
                         f"of {p} endmembers can satisfy it")
    out = rng.dirichlet(np.full(p, alpha), size=n)
    bad = np.flatnonzero(out.max(axis=1) > max_abundance)
    rounds = 0
    while bad.size:
        rounds += 1
        if rounds > max_rounds:
            raise InputError(f"rejection sampling of Dirichlet({alpha}) abundances with max <= {max_abundance} "
                             f"does not converge; raise max_abundance or alpha")
        out[bad] = rng.dirichlet(np.full(p, alpha), size=bad.size)
        bad = bad[out[bad].max(axis=1) > max_abundance]
    return out.T


def edge_abundances(p: int, n: int, rng: np.random.Generator, max_abundance: float) -> np.ndarray:
    """``(p, n)`` mixtures of two random endmembers (on a simplex edge), each share <= max_abundance."""
    lo = 1.0 - max_abundance
    if lo > max_abundance:
        raise InputError(f"edge mixtures need max_abundance >= 0.5, got {max_abundance}")
    out = np.zeros((p, n))
    pairs = np.array([rng.choice(p, size=2, replace=False) for _ in range(n)]) if n else np.zeros((0, 2), int)
    t = rng.uniform(lo, max_abundance, size=n)
    cols = np.arange(n)
    out[pairs[:, 0], cols] = t
    out[pairs[:, 1], cols] = 1.0 - t
    return out


def gaussian_random_fields(k: int, height: int, width: int, length_scale: float,
                           rng: np.random.Generator) -> np.ndarray:
    """``k`` standardised stationary Gaussian fields ``(k, H, W)`` with a Gaussian covariance of
    width ``length_scale`` pixels (white noise filtered in the Fourier domain, periodic)."""
    noise = rng.standard_normal((k, height, width))
    fy = np.fft.fftfreq(height)[:, None]
    fx = np.fft.fftfreq(width)[None, :]
    transfer = np.exp(-2 * (np.pi * length_scale) ** 2 * (fy ** 2 + fx ** 2))
    fields = np.fft.ifft2(np.fft.fft2(noise) * transfer).real
    fields -= fields.mean(axis=(1, 2), keepdims=True)
    fields /= fields.std(axis=(1, 2), keepdims=True) + 1e-12
    return fields


# ---------------------------------------------------------------------------------------- recipes
_COMMON = (
    Param("p", int, 5, "number of endmembers", low=2),
    Param("height", int, 64, "image rows", low=1),
    Param("width", int, 64, "image columns", low=1),
    Param("min_angle", float, 10.0, "minimum pairwise spectral angle of the drawn endmembers (deg)",
          low=0.0, high=90.0),
    Param("snr", float, None, "AWGN SNR in dB (HySUPP definition); None = noise-free", optional=True),
    Param("seed", int, 0, "seed of every random draw"),
    Param("dtype", str, "float32", "dtype of the cube and truth", choices=_DTYPES),
)


class LibraryMixture(Recipe):
    """Shared machinery: draw endmembers, mix with ``abundances()``, add noise, build the Scene."""

    def abundances(self, rng: np.random.Generator) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def mix(self, E: np.ndarray, A: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return E @ A

    def generate(self) -> Scene:
        from hysupp.io.shipped import usgs_library
        from hysupp.physics.noise import add_awgn

        seeds = np.random.SeedSequence(self.seed).spawn(2)
        rng, noise_rng = np.random.default_rng(seeds[0]), np.random.default_rng(seeds[1])
        lib = usgs_library()
        D = lib.library.astype(np.float64)
        cols = select_endmembers(D, self.p, self.min_angle, rng)
        E = D[:, cols]
        A = self.abundances(rng)
        Y = self.mix(E, A, rng)
        if self.snr is not None:
            Y = add_awgn(Y, self.snr, seed=noise_rng)
        dtype = np.dtype(self.dtype)
        names = [lib.library_names[c] for c in cols] if lib.library_names else None
        h, w = self.height, self.width
        return Scene(cube=Y.reshape(-1, h, w).astype(dtype), wavelengths=lib.wavelengths, name=self.name,
                     endmembers=E.astype(dtype), abundances=A.reshape(self.p, h, w).astype(dtype),
                     endmember_names=names, library=D.astype(dtype), library_names=lib.library_names,
                     library_index=cols, layout=f"simulated:{self.name}",
                     notes=[f"simulated with recipe {self.name!r}: {self.config}"],
                     extras={"protocol": self.protocol()})


@register_recipe
class DirichletRecipe(LibraryMixture):
    """Dirichlet abundances with a maximum-purity bound (MR70/MR85/MR100 family)."""

    name = "dirichlet"
    params = _COMMON + (
        Param("alpha", float, 1.0, "Dirichlet concentration (1 = uniform on the simplex)", low=1e-3),
        Param("max_abundance", float, 1.0, "purity bound rho: redraw pixels with max abundance > rho",
              low=0.0, high=1.0),
        Param("pure_pixels", bool, False, "put one pure pixel of each endmember at random positions"),
    )
    reference = ("J. M. P. Nascimento, J. M. Bioucas-Dias, 'Vertex component analysis', IEEE TGRS 43(4), 2005, "
                 "doi:10.1109/TGRS.2005.844293")

    def abundances(self, rng: np.random.Generator) -> np.ndarray:
        n = self.height * self.width
        A = dirichlet_abundances(self.p, n, rng, alpha=self.alpha, max_abundance=self.max_abundance)
        if self.pure_pixels:
            if n < self.p:
                raise InputError(f"pure_pixels needs at least p = {self.p} pixels, the image has {n}")
            where = rng.choice(n, size=self.p, replace=False)
            A[:, where] = np.eye(self.p)
        return A


@register_recipe
class Sim1Recipe(LibraryMixture):
    """No pure pixels: Dirichlet mixtures with max abundance 0.75 and some pixels on simplex edges."""

    name = "sim1"
    params = _COMMON + (
        Param("max_abundance", float, 0.75, "no abundance exceeds this (no pure pixels)", low=0.5, high=1.0),
        Param("edge_fraction", float, 0.1, "fraction of pixels mixing only two endmembers", low=0.0, high=1.0),
        Param("alpha", float, 1.0, "Dirichlet concentration of the interior pixels", low=1e-3),
    )
    reference = ("J. Li, A. Agathos, D. Zaharie, J. M. Bioucas-Dias, A. Plaza, X. Li, 'Minimum volume simplex "
                 "analysis: a fast algorithm for linear hyperspectral unmixing', IEEE TGRS 53(9), 2015, "
                 "doi:10.1109/TGRS.2015.2424719")

    def abundances(self, rng: np.random.Generator) -> np.ndarray:
        n = self.height * self.width
        A = dirichlet_abundances(self.p, n, rng, alpha=self.alpha, max_abundance=self.max_abundance)
        n_edge = int(round(self.edge_fraction * n))
        if n_edge:
            where = rng.choice(n, size=n_edge, replace=False)
            A[:, where] = edge_abundances(self.p, n_edge, rng, self.max_abundance)
        return A


@register_recipe
class GaussianFieldRecipe(LibraryMixture):
    """Spatially smooth abundance maps from Gaussian random fields through a softmax."""

    name = "grf"
    params = _COMMON + (
        Param("length_scale", float, 8.0, "correlation length of the fields (pixels)", low=0.0),
        Param("temperature", float, 0.5, "softmax temperature: lower = purer, sharper regions", low=1e-3),
    )
    reference = "Gaussian random field abundances (e.g. Rasti et al., HySUPP, IEEE TGRS 2024 synthetic data)"

    def abundances(self, rng: np.random.Generator) -> np.ndarray:
        z = gaussian_random_fields(self.p, self.height, self.width, self.length_scale, rng) / self.temperature
        z -= z.max(axis=0, keepdims=True)
        a = np.exp(z)
        return (a / a.sum(axis=0, keepdims=True)).reshape(self.p, -1)


@register_recipe
class VariabilityRecipe(LibraryMixture):
    """Extended linear mixing: per-pixel scaling and smooth per-pixel endmember perturbations."""

    name = "variability"
    params = _COMMON + (
        Param("scale_min", float, 0.8, "lower bound of the per-pixel scaling psi", low=0.0),
        Param("scale_max", float, 1.2, "upper bound of the per-pixel scaling psi", low=0.0),
        Param("perturbation", float, 0.02, "relative amplitude of the smooth endmember perturbation", low=0.0),
        Param("alpha", float, 1.0, "Dirichlet concentration", low=1e-3),
    )
    reference = ("L. Drumetz, M.-A. Veganzones, S. Henrot, R. Phlypo, J. Chanussot, C. Jutten, 'Blind hyperspectral "
                 "unmixing using an extended linear mixing model to address spectral variability', IEEE TIP 25(8), "
                 "2016, doi:10.1109/TIP.2016.2579259")

    def abundances(self, rng: np.random.Generator) -> np.ndarray:
        if self.scale_max < self.scale_min:
            raise InputError(f"variability: scale_max ({self.scale_max}) < scale_min ({self.scale_min})")
        return dirichlet_abundances(self.p, self.height * self.width, rng, alpha=self.alpha)

    def mix(self, E: np.ndarray, A: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        L, p = E.shape
        n = A.shape[1]
        psi = rng.uniform(self.scale_min, self.scale_max, size=n)
        # smooth spectral perturbation shapes: a few random low-frequency cosines per endmember
        grid = np.linspace(0.0, 1.0, L)[:, None]
        Y = (E @ A) * psi
        if self.perturbation > 0:
            for k in range(p):
                coef = rng.standard_normal((4, n)) / 2.0
                shapes = np.cos(np.pi * grid * np.arange(1, 5)[None, :]) @ coef  # (L, n)
                Y += self.perturbation * E[:, k:k + 1] * shapes * A[k]
        self._psi = psi
        return Y

    def generate(self) -> Scene:
        scene = super().generate()
        scene.extras["scaling"] = self._psi.reshape(self.height, self.width)
        return scene


_DC_REFERENCE = ("M.-D. Iordache, J. M. Bioucas-Dias, A. Plaza, 'Total variation spatial regularization for "
                 "sparse hyperspectral unmixing', IEEE TGRS 50(11), 2012, doi:10.1109/TGRS.2012.2191590")
_NOISE_PARAMS = (
    Param("snr", float, None, "AWGN SNR in dB (HySUPP definition); None = noise-free", optional=True),
    Param("seed", int, 0, "noise seed"),
    Param("dtype", str, "float32", "dtype of the cube and truth", choices=_DTYPES),
)


class _PublishedDC(Recipe):
    """Shared by DC1/DC2: build the published scene, then add the declared noise."""

    reference = _DC_REFERENCE

    def clean_scene(self) -> Scene:  # pragma: no cover - interface
        raise NotImplementedError

    def generate(self) -> Scene:
        from dataclasses import replace

        from hysupp.physics.noise import add_awgn

        scene = self.clean_scene()
        if self.snr is not None:
            noisy = add_awgn(scene.cube, self.snr, seed=self.seed)
            scene = replace(scene, cube=noisy, notes=scene.notes + [f"AWGN at {self.snr} dB, seed {self.seed}"])
        scene.extras["protocol"] = self.protocol()
        return scene


@register_recipe
class DC1Recipe(_PublishedDC):
    """DC1: 75 x 75, 5 USGS endmembers in squares on a fixed background (rebuilt exactly)."""

    name = "dc1"
    params = _NOISE_PARAMS

    def clean_scene(self) -> Scene:
        from hysupp.simulate.dc import dc1_scene

        return dc1_scene(dtype=np.dtype(self.dtype))


@register_recipe
class DC2Recipe(_PublishedDC):
    """DC2: 100 x 100, 9 USGS endmembers; library and cube rebuilt, abundances read from a file."""

    name = "dc2"
    params = (Param("data", str, None, "DC2 abundance file (DC2_XT.mat / spatial2.mat): the published "
                    "abundances are one stored random draw", optional=True),) + _NOISE_PARAMS

    def clean_scene(self) -> Scene:
        from hysupp.simulate.dc import dc2_scene

        return dc2_scene(self.data, dtype=np.dtype(self.dtype))
