"""Pansharpening methods (MS + PAN), registered under the ``pansharpening`` task.

Component substitution (:mod:`.cs`, adaptive variants in :mod:`.cs_adaptive`), multiresolution
analysis (:mod:`.mra`, :mod:`.indusion`, :mod:`.morphological`), variational (:mod:`.variational`),
networks trained on the scene itself (:mod:`.nets`: PNN, A-PNN, PanNet, DiCNN, FusionNet, Z-PNN; torch)
and the plain interpolation baseline EXP (:mod:`.exp`), after Vivone et al., "A critical comparison among
pansharpening algorithms", IEEE TGRS 53(5), 2015, doi:10.1109/TGRS.2014.2361734, and "A new
benchmark based on recent advances in multispectral pansharpening", IEEE GRSM 9(1), 2021,
doi:10.1109/MGRS.2020.3019315. Shared kernels are in :mod:`.common`.
"""
