"""Method registry, base classes and parameter declarations (DESIGN §3)."""

from hysupp.methods.base import (BlindUnmixer, ExtractionResult, Extractor, FusionResult, HSMSFuser, Method,
                                 Pansharpener, SemiSupervisedUnmixer, SuperResolver, SupervisedUnmixer,
                                 UnmixingResult)
from hysupp.methods.params import EVEN, FINITE, ODD, POWER_OF_TWO, Check, Param
from hysupp.methods.registry import TASKS, available, get_method, register

__all__ = ["EVEN", "FINITE", "ODD", "POWER_OF_TWO", "TASKS", "BlindUnmixer", "Check", "ExtractionResult", "Extractor",
           "FusionResult", "HSMSFuser", "Method", "Pansharpener", "Param", "SemiSupervisedUnmixer", "SuperResolver",
           "SupervisedUnmixer", "UnmixingResult", "available", "get_method", "register"]
