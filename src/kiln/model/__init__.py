"""Building a model from a blueprint."""

from kiln.model.builder import build_model
from kiln.model.network import Bagged, ExternalModel, KilnModel, LayerRow
from kiln.model.signature import InputSpec, OutputSpec, Signature, declared_signature

__all__ = [
    "Bagged",
    "ExternalModel",
    "InputSpec",
    "KilnModel",
    "LayerRow",
    "OutputSpec",
    "Signature",
    "build_model",
    "declared_signature",
]
