"""Single-image super-resolution (task ``super-resolution``): classical interpolation and
deconvolution (:mod:`.bicubic`, :mod:`.deconvolution`) and networks trained on the user's own scene
(:mod:`.nets`). The observation model and its helpers are in :mod:`.common`."""
