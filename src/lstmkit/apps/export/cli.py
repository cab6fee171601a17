"""``lstmkit export MODEL --onnx OUT.onnx``: a saved lstmkit model as an ONNX graph;
``lstmkit export MODEL --c DIR``: as dependency-free C99 (:mod:`lstmkit.apps.export.c_job`)."""

from __future__ import annotations

from ...errors import UserError
from ...io import load_model
from ...io.onnx_export import export_onnx
from ...layers import Embedding
from ..shared.args import int_in
from ..shared.modelfiles import resolve_model_path
from ..shared.outfiles import check_out_file, write_bytes
from .c_job import run_c

HELP = "export a saved model to ONNX or to dependency-free C99"
DESCRIPTION = """\
Write a saved lstmkit model (model.safetensors, or the job directory holding it)
as an ONNX graph built from ONNX's own LSTM / GRU / RNN operators, with dynamic
batch and time axes. The graph takes x (batch, time, features) float32, or ids
(batch, time) int64 for a model that starts with an Embedding; masked models
(Embedding(mask_zero=True)) take their sequence lengths from the ids (pad at the
end). --lengths-input adds a sequence_lens (batch,) int32 input to a float model.
--verify runs the graph in ONNX Runtime on random input and prints the largest
difference from lstmkit's own predict.

--c DIR writes DIR/model.h, model.c and README.md: plain C99 (no allocation, only
<math.h>), the weights as static const arrays, a streaming init/reset/step API and
run over a sequence, with the job's extras from model.json (forecast scaling, class
labels, the textgen vocabulary and a sampling loop). A forecast model's C forecasts
one series as the job does (its transform, seasonal indices and scaling, stored in
model.json); a panel model needs --id-value to say which series. --quantize int8
stores the weights as int8 with a scale per output channel (activations stay float).

examples:
  lstmkit export out/forecast-1/model.safetensors --onnx forecast.onnx
  lstmkit export out/vowels --onnx vowels.onnx --opset 17 --verify
  lstmkit export out/co2 --c out/co2-c
  lstmkit export out/stores --c out/store7-c --id-value 7
  lstmkit export out/vowels --c out/vowels-c --quantize int8
"""


def add_arguments(p) -> None:
    p.add_argument("model", help="model.safetensors (or its directory)")
    p.add_argument("--onnx", metavar="OUT.onnx", help="the ONNX file to write")
    p.add_argument("--c", metavar="DIR", help="write C99 (model.h, model.c, README.md) into DIR")
    p.add_argument(
        "--quantize", choices=["int8"], help="--c: int8 weights, one scale per output channel"
    )
    p.add_argument("--name", default="model", help="--c: the C prefix and file names (model)")
    p.add_argument(
        "--id-value",
        metavar="ID",
        help="--c, a forecast panel model: the series (its --id value) whose scaling goes into C",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an existing --onnx file; --c: write into a non-empty DIR",
    )
    p.add_argument(
        "--opset", type=int_in(14, 1000), default=17, help="ONNX opset (14 or newer; default 17)"
    )
    p.add_argument(
        "--lengths-input",
        action="store_true",
        help="add a sequence_lens (batch,) int32 input (float-input models)",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="run the graph in ONNX Runtime and compare with predict (before the file is written)",
    )


def _verify(model, proto, lengths_input):
    import numpy as np

    try:
        import onnxruntime as ort
    except ImportError:
        raise UserError("--verify needs onnxruntime: pip install onnxruntime") from None

    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    first = model.layers[0]
    B, T = 3, 11
    if isinstance(first, Embedding):
        x = rng.integers(1, first.input_dim, (B, T)).astype(np.int64)
        feeds = {"ids": x}
    else:
        shape = (
            (B, T, model.input_shape[-1])
            if len(model.input_shape) == 2
            else (B, model.input_shape[-1])
        )
        x = rng.standard_normal(shape).astype(np.float32)
        feeds = {"x": x}
        if lengths_input:
            feeds["sequence_lens"] = np.full(B, T, np.int32)
    got = sess.run(None, feeds)[0]
    return float(np.max(np.abs(got - model.predict(x))))


def run(args) -> int:
    if (args.onnx is None) == (args.c is None):
        raise UserError("give one of --onnx OUT.onnx or --c DIR")
    if args.c is not None:
        return run_c(args)
    if args.quantize:
        raise UserError("--quantize is for --c DIR (the ONNX graph keeps float32 weights)")
    if args.id_value is not None:
        raise UserError("--id-value is for --c DIR (a forecast panel model's series)")

    try:
        import onnx  # noqa: F401
    except ImportError:
        raise UserError("export needs the onnx package: pip install onnx") from None
    if args.verify:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise UserError(
                "--verify needs onnxruntime: pip install 'lstmkit[onnx]' (nothing was written)"
            ) from None
    path = resolve_model_path(args.model)
    check_out_file(args.onnx, args.force, "--onnx")
    model = load_model(path)
    proto = export_onnx(model, None, opset=args.opset, lengths_input=args.lengths_input)
    diff = _verify(model, proto, args.lengths_input) if args.verify else None
    write_bytes(args.onnx, proto.SerializeToString())

    def dims(i) -> str:
        return ", ".join(d.dim_param or str(d.dim_value) for d in i.type.tensor_type.shape.dim)

    ins = ", ".join(f"{i.name} ({dims(i)})" for i in proto.graph.input)
    print(
        f"wrote {args.onnx}: opset {args.opset}, {len(proto.graph.node)} nodes, "
        f"{model.count_params():,} parameters; inputs {ins}; output y; checker passed"
    )
    if diff is not None:
        print(f"verify: max |onnxruntime − predict| = {diff:.3g}")
    return 0
