"""Runs: one module per kind of run over one record and output layer (DESIGN §5, §6).

* :mod:`.unmix`: :func:`~hysupp.runs.unmix.unmix` and :func:`~hysupp.runs.unmix.write_run`
  (restarts of stochastic methods: :mod:`.restarts`);
* :mod:`.fuse`: :func:`~hysupp.runs.fuse.fuse` and :func:`~hysupp.runs.fuse.write_fusion_run`;
* :mod:`.superres`: :func:`~hysupp.runs.superres.super_resolve` and
  :func:`~hysupp.runs.superres.write_sr_run`;
* :mod:`.train`: :func:`~hysupp.runs.train.train` (fusion networks: a checkpoint);
* :mod:`.unmix_tiled`: :func:`~hysupp.runs.unmix_tiled.unmix_tiled` (Dask, COG output);
* :mod:`.fuse_tiled`: :func:`~hysupp.runs.fuse_tiled.fuse_tiled` (Dask, COG output).

They share :mod:`.record` (the run record, timestamps, default output folders, the output
check made before any computation, atomic folder writes), :mod:`.inputs` (scenes, libraries,
endmembers, ``p``, fusion pairs) and :mod:`.scheduling` (Dask schedulers of the tiled runs). Each
run module only composes these with the methods (:mod:`hysupp.methods`), metrics and I/O below it;
the public facade is :mod:`hysupp.api` (and the top-level ``hysupp.unmix``, ``hysupp.fuse``...).
"""
