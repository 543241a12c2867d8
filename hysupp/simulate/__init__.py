"""Simulation recipes (DESIGN §2): seeded scenes with ground truth and fusion pairs.

``hysupp.simulate`` is both this package and a function: ``hysupp.simulate("dc1", snr=30)`` is
:func:`hysupp.simulate.recipes.simulate`.

Example
-------
>>> import hysupp
>>> hysupp.simulate("dirichlet", p=3, height=4, width=5).shape
(224, 4, 5)
>>> [r.name for r in hysupp.simulate.available_recipes()][:2]
['dc1', 'dc2']
"""

from __future__ import annotations

import sys
import types
from typing import Any

from hysupp.io.pair import load_fusion_pair, save_fusion_pair
from hysupp.pair import FusionPair
from hysupp.simulate.fusion import hs_ms_pair, synthesize_pansharpening_pair, wald_pansharpening_pair
from hysupp.simulate.recipes import Recipe, available_recipes, get_recipe, register_recipe, simulate

__all__ = ["FusionPair", "Recipe", "available_recipes", "get_recipe", "hs_ms_pair", "load_fusion_pair",
           "register_recipe", "save_fusion_pair", "simulate", "synthesize_pansharpening_pair",
           "wald_pansharpening_pair"]


class _CallableModule(types.ModuleType):
    def __call__(self, recipe: str, **params: Any) -> Any:
        return simulate(recipe, **params)


sys.modules[__name__].__class__ = _CallableModule
