"""Method registry, base classes and parameter declarations (DESIGN §3)."""

from hysupp.methods.base import (BlindUnmixer, ExtractionResult, Extractor, Method, SemiSupervisedUnmixer,
                                 SupervisedUnmixer, UnmixingResult)
from hysupp.methods.params import Param
from hysupp.methods.registry import TASKS, available, get_method, register

__all__ = ["TASKS", "BlindUnmixer", "ExtractionResult", "Extractor", "Method", "Param", "SemiSupervisedUnmixer",
           "SupervisedUnmixer", "UnmixingResult", "available", "get_method", "register"]
