# %% [markdown]
# # Add your own method as a plugin package
#
# hysupp finds methods in a **registry** keyed by `(task, lower-case name)`. Built-in methods
# register when their module is imported (`@register`); third-party packages are found through
# the entry-point group **`hysupp.methods`**. An entry point may name
#
# - a **module** (importing it runs its `@register` decorators),
# - a **`Method` subclass** (registered as is), or
# - a **function** returning method classes.
#
# A plugin that fails to import never breaks hysupp: `hysupp list` reports it.
#
# This page builds a tiny plugin package in a temporary folder, makes it visible to
# `importlib.metadata` exactly as `pip install` would, and uses it through the normal API and CLI.

# %% [markdown]
# ## 1. The method
#
# Subclass the base class of your task (`Extractor`, `SupervisedUnmixer`,
# `SemiSupervisedUnmixer`, `BlindUnmixer`, `Pansharpener`, `HSMSFuser`, `SuperResolver`; see
# [the API](../api/methods.md)), set `name`, `params` (typed `Param` declarations with the
# reference defaults and the paper's constraints: bounds, open bounds such as `low=0.0,
# low_open=True` for a step that must be positive, `choices`, a predicate such as `check=ODD`,
# list types such as `list[float]`), `reference` (paper with DOI), write the class docstring
# (problem, maths) and implement the task's **underscore method**: `_extract(Y, p)`,
# `_unmix(Y, E)` (supervised), `_unmix(Y, D, *, p, image_shape)` (semi-supervised),
# `_unmix(Y, p, *, image_shape)` (blind), `_fuse(...)`, `_super_resolve(...)`.
#
# The base class's public method (`unmix`, `extract`, `fuse`, `super_resolve`) is a template:
# it validates the inputs (2-D finite pixels, matching band counts, `p`, the image grid of a
# spatial method, the fusion ratio and sizes) and raises `InputError` with a clear message, times
# the call, calls your `_unmix` with the checked arrays, and adds the standard `info` keys
# (`wall_time`, `dtype`, `device`, and `seed` for a seeded method). Your `_unmix` keeps only the
# checks peculiar to the method. The declaration also gives the class its signature
# (`inspect.signature(NNLSDemo)`) and its docstring's *Parameters* section.
#
# Here: per-pixel nonnegative least squares with an optional ridge term,
# \(\min_{a \ge 0} \tfrac12\lVert y - Ea\rVert_2^2 + \tfrac{\lambda}{2}\lVert a\rVert_2^2\).
# Import heavy dependencies (torch…) inside the methods, not at module top level.

# %%
import sys
import tempfile
import textwrap
from pathlib import Path

root = Path(tempfile.mkdtemp())
pkg = root / "hysupp_nnls_demo"
pkg.mkdir()
(pkg / "__init__.py").write_text(textwrap.dedent('''
    """A demo hysupp plugin: nonnegative least squares abundances."""
    import numpy as np

    from hysupp.methods import Param, SupervisedUnmixer, UnmixingResult, register


    @register
    class NNLSDemo(SupervisedUnmixer):
        r"""Nonnegative (ridge) least squares per pixel, without the sum-to-one constraint.

        Solves :math:`\\min_{a \\ge 0} \\tfrac12\\lVert y - Ea\\rVert_2^2 + \\tfrac{\\lambda}{2}\\lVert a\\rVert_2^2`
        for every pixel with SciPy's active-set NNLS on the augmented system.
        """

        name = "NNLS-Demo"
        params = (
            Param("ridge", float, 0.0, "ridge weight lambda (0 = plain NNLS)", low=0.0),
            Param("max_iter", int, None, "NNLS iteration cap; None = 3 p", low=1, optional=True),
        )
        reference = ("C. L. Lawson, R. J. Hanson, Solving Least Squares Problems, SIAM 1995, "
                     "doi:10.1137/1.9781611971217")

        def _unmix(self, Y, E):
            from scipy.optimize import nnls  # heavy imports inside the method

            p = E.shape[1]                    # Y (L, N), E (L, p): already checked by unmix()
            Ea = np.vstack([E, np.sqrt(self.ridge) * np.eye(p)]) if self.ridge else E
            pad = np.zeros(p) if self.ridge else np.zeros(0)
            A = np.stack([nnls(Ea, np.concatenate([y, pad]), maxiter=self.max_iter)[0] for y in Y.T], axis=1)
            return UnmixingResult(abundances=A.astype(np.float32), endmembers=E,
                                  info={"method": self.name, "ridge": self.ridge})
'''))
print((pkg / "__init__.py").read_text()[:300], "...")

# %% [markdown]
# ## 2. The entry point
#
# In the plugin's `pyproject.toml`:

# %%
pyproject = textwrap.dedent('''
    [project]
    name = "hysupp-nnls-demo"
    version = "0.1"
    dependencies = ["hysupp"]

    [project.entry-points."hysupp.methods"]
    nnls-demo = "hysupp_nnls_demo"
''')
(root / "pyproject.toml").write_text(pyproject)
print(pyproject)

# %% [markdown]
# `pip install -e .` in that folder would write the package's metadata, including an
# `entry_points.txt`, where `importlib.metadata` finds it. To keep this page self-contained we
# write that metadata by hand next to the package and put the folder on `sys.path`; this is
# exactly what hysupp's registry reads.

# %%
dist = root / "hysupp_nnls_demo-0.1.dist-info"
dist.mkdir()
(dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hysupp-nnls-demo\nVersion: 0.1\n")
(dist / "entry_points.txt").write_text("[hysupp.methods]\nnnls-demo = hysupp_nnls_demo\n")
sys.path.insert(0, str(root))

from importlib.metadata import entry_points

print([ep for ep in entry_points(group="hysupp.methods")])

# %% [markdown]
# ## 3. Use it like any built-in method
#
# The first registry call imports the built-in methods and every entry point of the group:

# %%
import hysupp
from hysupp.methods.registry import get_method, plugin_errors

cls = get_method("nnls-demo")
print(cls, cls.task, "plugin errors:", plugin_errors())

# %%
from click.testing import CliRunner

from hysupp.cli import main

print(CliRunner().invoke(main, ["list", "NNLS-Demo"]).output)

# %% [markdown]
# Parameters are validated from the declaration, everywhere:

# %%
try:
    cls(ridge=-1)
except hysupp.ParameterError as exc:
    print("ParameterError:", exc)

# %% [markdown]
# The declaration is the class's signature and the *Parameters* section of its docstring:

# %%
import inspect

print(inspect.signature(cls))
print(cls.__doc__[cls.__doc__.index("Parameters"):])

# %% [markdown]
# A run on a small simulated scene with known endmembers (Dirichlet abundances, 30 dB):

# %%
scene = hysupp.simulate("dirichlet", p=3, height=20, width=20, snr=30, seed=0)
for method in ("NNLS-Demo", "FCLS"):
    run = hysupp.unmix(scene, method, endmembers="truth")
    print(f"{method:10s} SRE = {run.metrics['sre_db']:.2f} dB, aRMSE = {run.metrics['armse']:.3f}, "
          f"mean sum of abundances = {run.abundances.sum(0).mean():.3f}")

# %% [markdown]
# ## 4. Check the method contract
#
# `hysupp.testing.check_method` runs the checks every registered method passes (like
# scikit-learn's `check_estimator`): the declaration (name, task, reference, docstring,
# valid defaults, signature), parameter validation (out-of-range, wrong-type and unknown values
# raise `ParameterError`) and the CLI round trip of every default, then runs on a tiny seeded
# problem of the task: output shapes and finite values, the output dtype for float32 and float64
# inputs (`output_dtype`: `"dtype"` follows the method's `dtype` parameter, float32 without one),
# determinism, rejection of invalid inputs (NaN pixel, wrong band count, wrong `p`) with
# `InputError`, and the standard `info` keys, JSON-serialisable. It raises an `AssertionError`
# naming the method and the failed check. Put it in your plugin's tests; a method that needs many
# iterations declares `fast_params` (e.g. `{"max_iter": 5}`) for these runs.

# %%
from hysupp.testing import check_method

print(check_method(cls))

# %% [markdown]
# ## Checklist for a real plugin
#
# - one class per algorithm, `name` unique within its task, `task` one of
#   `extractor, supervised, semi-supervised, blind, pansharpening, hs-ms-fusion, super-resolution`;
# - `params` with the **reference** defaults and bounds; `per_snr` where the authors tuned per SNR;
# - class docstring: the optimisation problem (maths), the algorithm, the reference with its DOI;
# - vectorised over pixels; float32 by default with a `dtype` option; torch methods take `device`
#   and `seed` (see `hysupp.nn.device`);
# - tests on small synthetic scenes (exact recovery without noise, parameter validation) and
#   `hysupp.testing.check_method(YourMethod)`.
#
# A plugin written for an older hysupp that overrides the public `unmix` itself (and calls
# `self.check_inputs`) keeps working: the override is kept and the standard `info` keys it does not
# set are added around it. New code implements `_unmix`.
#
# Its documentation page is then generated like those under [Methods](../methods/index.md) when
# the plugin is installed while the site is built.
