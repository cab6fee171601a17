"""How much memory a training run will take, and how much the machine has — checked
before anything large is allocated, so a run that cannot fit is refused with one line
instead of being killed by the kernel half an hour in.

    from lstmkit.resources import check_training_memory
    check_training_memory(model, batch=32, time=100, input_dim=8)   # UserError if too big

The estimate (bytes, itemsize s = 4 for float32, 8 for float64) is built from the
layer configs alone — nothing is built — so it works on an unbuilt model:

    parameters P:  W + ∂W + optimizer slots  = P·(2 + slots)·s
    recurrent layer (G gate blocks, H units, input D, n_states states), per batch B, time T:
        forward cache   act T·B·G·H, hs and cs (T+1)·B·H each, tanh(c) T·B·H, x T·B·D
        backward        dz T·B·G·H, dx T·B·D, dhs T·B·H
        ≈ T·B·(2·G·H + (3 + n_states)·H + 2·D)·s
    Dense / Embedding / Dropout: input and output (and their gradients) per step kept
    the activations × ``TEMPORARIES`` (1.15) for NumPy's temporaries

It is an estimate (BLAS buffers and Python objects come on top),
so a configuration is refused only when it needs more than ``fraction`` (0.9) of the
memory available: ``MemAvailable`` from /proc/meminfo (else ``os.sysconf``), lowered
by a cgroup v2 memory limit or an ``RLIMIT_AS`` soft limit when one is set.
"""

from __future__ import annotations

import os

from .errors import UserError

__all__ = ["TEMPORARIES", "available_bytes", "check_training_memory", "estimate_training_bytes"]

#: NumPy temporaries on top of the buffers counted above: without this factor the
#: estimate was 0.93× tracemalloc's peak of a real step (LSTM 64–256 units, T 40–200)
TEMPORARIES = 1.15


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _layer_list(model_or_layers):
    layers = getattr(model_or_layers, "layers", model_or_layers)
    return list(layers)


def _slots(optimizer) -> int:
    if optimizer is None:
        return 2  # assume Adam (m, v)
    return len(getattr(optimizer, "slots", ())) or 0


def estimate_training_bytes(
    model_or_layers,
    batch: int,
    time: int,
    input_dim: int | None = None,
    optimizer=None,
    dtype_bytes: int | None = None,
) -> int:
    """Bytes one training step of ``model_or_layers`` (a Sequential, built or not, or a
    list of layers) needs for inputs (batch, time, input_dim). See the module docstring."""
    layers = _layer_list(model_or_layers)
    if optimizer is None:
        optimizer = getattr(model_or_layers, "optimizer", None)
    B, T = int(batch), max(1, int(time))
    D = int(input_dim or 1)
    seq = True  # does the current tensor have a time axis?
    params = acts = 0
    for layer in layers:
        inner = getattr(layer, "forward_layer", None)
        cell = inner if inner is not None else layer
        s = int(dtype_bytes or getattr(getattr(cell, "dtype", None), "itemsize", 4) or 4)
        steps = T if seq else 1
        if hasattr(cell, "n_gates") and hasattr(cell, "units"):  # a recurrent cell
            G, H, n_st = int(cell.n_gates), int(cell.units), int(getattr(cell, "n_states", 1))
            k = 2 if inner is not None else 1  # Bidirectional: two cells
            params += k * G * H * (D + H + 2) * s
            acts += k * steps * B * (2 * G * H + (3 + n_st) * H + 2 * D) * s
            out = H * (
                2 if inner is not None and getattr(layer, "merge_mode", "concat") == "concat" else 1
            )
            if not getattr(cell, "return_sequences", False):
                seq = False
            D = out
        elif hasattr(layer, "output_dim") and hasattr(layer, "input_dim"):  # Embedding
            E = int(layer.output_dim)
            params += int(layer.input_dim) * E * s
            acts += 2 * steps * B * E * s
            D = E
        elif hasattr(layer, "units"):  # Dense
            U = int(layer.units)
            params += (D + 1) * U * s
            acts += 3 * steps * B * (U + D) * s
            D = U
        else:  # Dropout, Activation …
            acts += 2 * steps * B * D * s
    return int(params * (2 + _slots(optimizer)) + TEMPORARIES * acts)


def available_bytes() -> int | None:
    """Memory this process can still use (bytes), or None when it cannot be told."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = None
    limits = [] if avail is None else [avail]
    try:  # cgroup v2 limit of this container
        with open("/sys/fs/cgroup/memory.max") as f:
            mx = f.read().strip()
        if mx.isdigit():
            with open("/sys/fs/cgroup/memory.current") as f:
                limits.append(max(0, int(mx) - int(f.read().strip())))
    except (OSError, ValueError):
        pass
    try:  # ulimit -v
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft not in (resource.RLIM_INFINITY, -1):
            used = 0
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmSize:"):
                        used = int(line.split()[1]) * 1024
            limits.append(max(0, soft - used))
    except (ImportError, OSError, ValueError):
        pass
    return min(limits) if limits else None


def check_training_memory(
    model_or_layers,
    batch: int,
    time: int,
    input_dim: int | None = None,
    extra_bytes: int = 0,
    fraction: float = 0.9,
    available: int | None = None,
    hint: str = "use a smaller --batch-size, sequence length or --units",
) -> int:
    """Raise :class:`UserError` when the estimate exceeds ``fraction`` of the available
    memory (``available`` overrides the machine's figure); return the estimate."""
    need = estimate_training_bytes(model_or_layers, batch, time, input_dim) + int(extra_bytes)
    have = available_bytes() if available is None else int(available)
    if have is not None and need > fraction * have:
        units = [
            int(getattr(getattr(layer, "forward_layer", layer), "units", 0))
            for layer in _layer_list(model_or_layers)
        ]
        units = [u for u in units if u]
        raise UserError(
            f"this configuration needs about {_gib(need)} of memory to train "
            f"(batch {int(batch)} × time {int(time)}"
            + (f" × units {max(units)}" if units else "")
            + f"), but only {_gib(have)} is available; {hint}"
        )
    return need
