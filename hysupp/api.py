"""The public Python API: one call per job, each behind one CLI command (DESIGN §6).

* :func:`unmix` + :func:`write_run`: ``hysupp run`` (:mod:`hysupp.runs.unmix`);
* :func:`fuse` + :func:`write_fusion_run`: ``hysupp fuse`` (:mod:`hysupp.runs.fuse`);
* :func:`super_resolve` + :func:`write_sr_run`: ``hysupp sr`` (:mod:`hysupp.runs.superres`);
* :func:`train`: ``hysupp train`` (:mod:`hysupp.runs.train`);
* :func:`unmix_tiled_to_folder`: ``hysupp run --tile`` (:mod:`hysupp.runs.unmix_tiled`);
* :func:`fuse_tiled_to_folder`: ``hysupp fuse --tile`` (:mod:`hysupp.runs.fuse_tiled`);
* :func:`plan_unmix`, :func:`plan_fuse`, :func:`plan_super_resolve`: the ``--dry-run`` of
  ``run``, ``fuse`` and ``sr`` (:mod:`hysupp.runs.plan`; ``bench``'s is
  :func:`hysupp.bench.runner.plan_suite`).

:func:`unmix_tiled` and :func:`fuse_tiled` return lazy results (or stream a COG with ``out=``).
Every run returns its JSON record (``run.record``, :mod:`hysupp.runs.record`); outputs go to a new
folder written atomically, and an existing output is refused before any computation
(:func:`check_output`) unless ``overwrite=True``. The top-level names (``hysupp.unmix``,
``hysupp.fuse``...) are these.

Example
-------
>>> import hysupp
>>> from hysupp.datasets import builtin_scene
>>> run = hysupp.unmix(builtin_scene("dc1"), "FCLS", endmembers="truth")
>>> run.abundances.shape, run.metrics["sre_db"] > 40
((5, 75, 75), True)
"""

from __future__ import annotations

from hysupp.runs.fuse import FusionRun, fuse, write_fusion_run
from hysupp.runs.fuse_tiled import TiledFusion, fuse_tiled, fuse_tiled_to_folder
from hysupp.runs.inputs import P_ESTIMATORS, SEED_MAX, check_seed, pair_physics
from hysupp.runs.plan import RunPlan, plan_fuse, plan_super_resolve, plan_unmix
from hysupp.runs.record import check_output
from hysupp.runs.superres import SRRun, super_resolve, write_sr_run
from hysupp.runs.train import TrainingRun, train
from hysupp.runs.unmix import UnmixingRun, unmix, write_run
from hysupp.runs.unmix_tiled import TiledRun, unmix_tiled, unmix_tiled_to_folder

__all__ = ["P_ESTIMATORS", "SEED_MAX", "FusionRun", "RunPlan", "SRRun", "TiledFusion", "TiledRun", "TrainingRun",
           "UnmixingRun", "check_output", "check_seed", "fuse", "fuse_tiled", "fuse_tiled_to_folder", "pair_physics",
           "plan_fuse", "plan_super_resolve", "plan_unmix", "super_resolve", "train", "unmix",
           "unmix_tiled", "unmix_tiled_to_folder", "write_fusion_run", "write_run", "write_sr_run"]
