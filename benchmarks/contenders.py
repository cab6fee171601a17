"""The three contenders of the benchmark, built on the same weights.

Each builder returns a dict of zero-argument callables: ``fwd`` (inference) and,
where it exists, ``train`` (forward + backward, no optimizer step), plus
``out()`` giving the last forward's output (batch, time, H) for a sanity check.

* lstmkit: a stack of ``LSTM``/``GRU`` layers (return_sequences=True), float32;
  ``forward(x, training=False)`` / ``forward(..., training=True)`` + ``backward``.
  Inference (``fwd``) runs on a copy of the stack with frozen weights
  (``freeze_weights``, what ``Model.for_inference()`` gives a server), as ONNX Runtime
  runs on its session's constant weights; ``fwd_live`` on the live layers, which check
  their weights for changes on every call.
* PyTorch: ``torch.nn.LSTM``/``GRU`` (batch_first=True) with the same weights
  (copied through the layers' PyTorch-named tensors); inference under
  ``torch.inference_mode``; training computes dx too, as lstmkit does.
* ONNX Runtime: a graph of ONNX ``LSTM`` operators built here with the onnx
  helper API (gate order i, o, f, c; W [1, 4H, D], R [1, 4H, H], B [1, 8H]), or of
  ``GRU`` operators (gate order z, r, h — lstmkit's own — with ``linear_before_reset=1``,
  the reset gate after the recurrent product as in lstmkit, torch and Keras);
  time-major input, inference only.
"""

from __future__ import annotations

import copy

import numpy as np


def bench_input(B, T, D):
    """The input x (B, T, D) every contender of a shape gets, in every process of a run."""
    return np.random.default_rng(1).standard_normal((B, T, D)).astype(np.float32)


def make_pair(kind, shape):
    """x, lstmkit's contender and torch's on the same weights, for shape (T, B, D, H, L)."""
    T, B, D, H, L = shape
    x = bench_input(B, T, D)
    ours = make_lstmkit(kind, x, H, L)
    return x, ours, make_torch(kind, x, H, L, ours["stack"], ours["dy"])


def make_lstmkit(kind, x, H, L, seed=0):
    from lstmkit import layers

    cls = {"LSTM": layers.LSTM, "GRU": layers.GRU}[kind]
    stack = [
        cls(H, return_sequences=True, seed=seed + k, name=f"{kind.lower()}{k}") for k in range(L)
    ]
    y = x
    for lay in stack:  # build + a first forward
        y = lay.forward(y)
    rng = np.random.default_rng(seed)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    last = {}
    served = copy.deepcopy(stack)
    for lay in served:
        lay.freeze_weights()

    def infer(layers):
        def run():
            y = x
            for lay in layers:
                y = lay.forward(y, training=False)
            last["y"] = y
            return y

        return run

    fwd, fwd_live = infer(served), infer(stack)

    def train():
        y = x
        for lay in stack:
            y = lay.forward(y, training=True)
        d = dy
        for lay in reversed(stack):
            d = lay.backward(d)
        return d

    return {
        "fwd": fwd,
        "fwd_live": fwd_live,
        "train": train,
        "out": lambda: last["y"],
        "stack": stack,
        "dy": dy,
    }


def torch_state_dict(stack):
    """PyTorch names of every layer's tensors (``_l0`` renamed to ``_l{k}``)."""
    sd = {}
    for k, lay in enumerate(stack):
        for name, t in lay.named_tensors().items():
            sd[name.replace("_l0", f"_l{k}")] = np.ascontiguousarray(t, np.float32)
    return sd


def make_torch(kind, x, H, L, stack, dy):
    import torch

    D = x.shape[2]
    mod = getattr(torch.nn, kind)(D, H, num_layers=L, batch_first=True)
    mod.load_state_dict({k: torch.from_numpy(v) for k, v in torch_state_dict(stack).items()})
    xt = torch.from_numpy(x)
    xg = xt.clone().requires_grad_(True)
    dyt = torch.from_numpy(dy)
    last = {}

    def fwd():
        with torch.inference_mode():
            y, _ = mod(xt)
        last["y"] = y
        return y

    def train():
        for p in mod.parameters():
            p.grad = None
        xg.grad = None
        y, _ = mod(xg)
        y.backward(dyt)
        return xg.grad

    return {"fwd": fwd, "train": train, "out": lambda: last["y"].numpy()}


def _onnx_gates(w, H):
    """(…, 4H) blocks i, f, g, o (ours) → i, o, f, c (ONNX) along the first axis of w.T."""
    i, f, g, o = (w[k * H : (k + 1) * H] for k in range(4))
    return np.concatenate([i, o, f, g], axis=0)


def make_ort(x, H, L, stack, threads, kind="LSTM"):
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    B, T, D = x.shape
    nodes, inits, prev = [], [], "X"
    for k, lay in enumerate(stack):
        W_x, W_h, b = (np.asarray(p, np.float32) for p in lay.params)
        if kind == "LSTM":
            W = _onnx_gates(W_x.T, H)[None]  # (1, 4H, D)
            R = _onnx_gates(W_h.T, H)[None]  # (1, 4H, H)
            Bv = np.concatenate([_onnx_gates(b, H), np.zeros(4 * H, np.float32)])[None]  # (1, 8H)
            attrs = {"hidden_size": H}
        else:  # GRU: z, r, n is ONNX's z, r, h; b is [b_x; b_h]
            W, R, Bv = W_x.T[None], W_h.T[None], b.reshape(1, 6 * H)
            attrs = {"hidden_size": H, "linear_before_reset": 1}
        for nm, v in ((f"W{k}", W), (f"R{k}", R), (f"B{k}", Bv)):
            inits.append(numpy_helper.from_array(np.ascontiguousarray(v), nm))
        nodes.append(helper.make_node(kind, [prev, f"W{k}", f"R{k}", f"B{k}"], [f"Y{k}"], **attrs))
        # Y (T, num_dir=1, B, H) → (T, B, H) for the next layer
        out = "Y" if k == L - 1 else f"X{k + 1}"
        inits.append(numpy_helper.from_array(np.array([1], np.int64), f"ax{k}"))
        nodes.append(helper.make_node("Squeeze", [f"Y{k}", f"ax{k}"], [out]))
        prev = out
    graph = helper.make_graph(
        nodes,
        "lstm",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, B, D])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [T, B, H])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = min(model.ir_version, 9)
    onnx.checker.check_model(model)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    xtm = np.ascontiguousarray(x.transpose(1, 0, 2))  # time-major, prepared once
    last = {}

    def fwd():
        (y,) = sess.run(None, {"X": xtm})
        last["y"] = y
        return y

    return {"fwd": fwd, "out": lambda: last["y"].transpose(1, 0, 2)}
