"""Training below the model's API: the fit / evaluate loops, where a fit stands
(:class:`FitState`), and checkpoints that let it resume bit-identically.

``Sequential.fit`` / ``evaluate`` / ``save_checkpoint`` call into this package; it
uses the model only through its public methods, and imports nothing above
``layers``, ``callbacks``, ``parallel`` and ``io``'s file format.
"""

from .checkpoint import restore_checkpoint, save_checkpoint
from .loop import evaluate_loop, fit_loop
from .state import FitState, RunningMeans

__all__ = [
    "FitState",
    "RunningMeans",
    "evaluate_loop",
    "fit_loop",
    "restore_checkpoint",
    "save_checkpoint",
]
