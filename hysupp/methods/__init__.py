"""Method registry, base classes and parameter declarations (DESIGN §3)."""

from hysupp.methods.base import (BlindUnmixer, ExtractionResult, Extractor, FusionResult, HSMSFuser, Method,
                                 Pansharpener, SemiSupervisedUnmixer, SupervisedUnmixer, UnmixingResult)
from hysupp.methods.params import Param
from hysupp.methods.registry import TASKS, available, get_method, register

__all__ = ["TASKS", "BlindUnmixer", "ExtractionResult", "Extractor", "FusionResult", "HSMSFuser", "Method",
           "Pansharpener", "Param", "SemiSupervisedUnmixer",
           "SupervisedUnmixer", "UnmixingResult", "available", "get_method", "register"]
