"""Model files: safe save / load (safetensors + JSON config; nothing is ever unpickled)."""

from .c_export import export_c
from .keras_interop import from_keras_h5, from_keras_weights, load_keras
from .onnx_export import export_onnx
from .save import load_model, save_model
from .torch_interop import TimeMajorModel, from_torch, to_torch, to_torch_module

__all__ = [
    "load_model",
    "save_model",
    "from_torch",
    "to_torch",
    "to_torch_module",
    "TimeMajorModel",
    "from_keras_weights",
    "from_keras_h5",
    "load_keras",
    "export_onnx",
    "export_c",
]
