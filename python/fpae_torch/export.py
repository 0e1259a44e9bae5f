"""``python -m fpae_torch.export MODEL --out FILE.onnx``: a model's network as
ONNX, for inference runtimes (onnxruntime and others).

The graph takes ``input``, float32 ``[N, 1, H, W]`` in [0, 1] (the print's
pixels scaled as the model's ``state.json`` says), and gives ``output`` of the
same shape; N, H and W are dynamic, H and W multiples of the network's stride
(the model's ``metadata_props`` name it, with the scaling). Pad a print to the
stride by repeating its edge pixels and crop the output back, as fpae does
(``FpaeModel.forward_any_size``). Written with torch.onnx's TorchScript
exporter at opset :data:`OPSET`.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import warnings
from pathlib import Path

import torch
from torch import Tensor, nn

from .model import FpaeError, load

# The ONNX opset of the exported graphs (onnxruntime 1.31 runs up to 23).
OPSET = 17


class TwoPassGroupNorm(nn.Module):
    """Group normalisation with its statistics summed in float64: the mean, then
    the mean of the squared deviations from it. onnxruntime sums a reduction's
    float32 values one after the other, and over the hundreds of thousands of
    values of a print-sized group that loses about 1e-3 of a normalised value
    (PyTorch sums in a tree, and agrees with float64 to 1e-6); the exporter's own
    form of the norm (InstanceNormalization) loses as much."""

    def __init__(self, norm: nn.GroupNorm):
        super().__init__()
        self.groups, self.eps = norm.num_groups, norm.eps
        self.weight, self.bias = norm.weight, norm.bias

    def forward(self, x: Tensor) -> Tensor:
        shape = x.shape
        grouped = x.reshape(shape[0], self.groups, -1).double()
        centred = grouped - grouped.mean(dim=-1, keepdim=True)
        variance = (centred * centred).mean(dim=-1, keepdim=True)
        y = (centred / torch.sqrt(variance + self.eps)).float().reshape(shape)
        return y * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


def for_export(network: nn.Module) -> nn.Module:
    """A copy of ``network`` with :class:`TwoPassGroupNorm` for each group normalisation."""
    network = copy.deepcopy(network).cpu().eval()
    for name, child in list(network.named_children()):
        if isinstance(child, nn.GroupNorm):
            setattr(network, name, TwoPassGroupNorm(child))
    return network


def export_onnx(model, out: Path) -> None:
    """Writes ``model``'s network (an :class:`FpaeModel`) to ``out`` as ONNX,
    through a temporary file renamed when whole."""
    network = for_export(model.network)
    stride = network.stride
    example = torch.rand(1, 1, 2 * stride, 2 * stride)
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                network,
                (example,),
                str(temporary),
                dynamo=False,
                opset_version=OPSET,
                input_names=["input"],
                output_names=["output"],
                dynamic_axes={name: {0: "batch", 2: "height", 3: "width"} for name in ("input", "output")},
            )
        _add_metadata(temporary, {"fpae.stride": str(stride), "fpae.scaling": json.dumps(model.scaling.__dict__)})
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)


def _add_metadata(path: Path, props: dict[str, str]) -> None:
    """Adds ``metadata_props`` where the ``onnx`` package is installed (it is optional)."""
    try:
        import onnx
    except ImportError:
        return
    graph = onnx.load(str(path))
    for key, value in props.items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(graph, str(path))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fpae_torch.export", description="Export an fpae model's network as ONNX."
    )
    parser.add_argument("model", help="model folder, run directory, or the name of a ready-made model")
    parser.add_argument("--out", type=Path, required=True, help="the .onnx file to write")
    parser.add_argument("--checkpoint", default="best", choices=["best", "last"], help="of a run directory")
    parser.add_argument("--models", type=Path, help="where ready-made models are found by name")
    args = parser.parse_args(argv)
    try:
        if args.out.exists():
            raise FpaeError(f"--out {args.out}: already exists; choose another file")
        export_onnx(load(args.model, args.checkpoint, "cpu", args.models), args.out)
    except FpaeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
