"""Model files: safe save / load (safetensors + JSON config; nothing is ever unpickled)."""
from .save import load_model, save_model

__all__ = ["load_model", "save_model"]
