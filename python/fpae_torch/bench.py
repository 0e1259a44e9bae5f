"""``python -m fpae_torch.bench MODEL DIR --out OUT --engine torch|onnx``: restores
every print under DIR as ``fpae restore MODEL DIR --out OUT`` does, with the
PyTorch twin or with ONNX Runtime, timed; the peers of ``cargo xtask bench restore``.

The batch policy is fpae's (``apply_to_files`` and ``TrainedModel::apply``): the
prints in sorted path order, ``--batch`` at a time; within those, the prints of
one size together, cut so that a batch's activations stay within fpae's CPU
budget (``--budget``, 512 MiB: every node's f32 output of the network at the
padded size added up, as ``ModelConfig::activation_bytes`` counts them), each
batch padded to the network's stride by repeating edge pixels and the output
cropped back. Prints are decoded and written by ``--threads`` threads while the
network runs on ``--threads`` intra-op threads.

- ``--engine torch``: the twin tuned for the CPU: channels-last model and inputs,
  ``torch.autocast(bfloat16)`` only where the CPU computes bf16 natively
  (``avx512_bf16`` or ``amx_bf16`` in /proc/cpuinfo, the decision fpae's
  ``--precision auto`` makes), ``torch.set_num_threads(--threads)``; the allocator
  is whatever the caller preloads (``LD_PRELOAD``).
- ``--engine onnx``: ``--onnx FILE`` (``fpae export MODEL --format onnx``) in
  onnxruntime's CPU provider, all graph optimisations on, ``--threads`` intra-op
  threads that sleep rather than spin while they wait, and one inter-op thread.

``--plan`` runs nothing: it prints the sizes of the prints, the batch each size
gets and the convolutions of the network at each padded size (for FLOP counts).

The last line of standard output is one JSON object: the prints, their
megapixels, ``seconds`` (reading, the network and writing, not loading the
model), ``load_seconds``, ``peak_rss_mb`` (this process's high-water mark) and
the settings used.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .model import IMAGE_EXTENSIONS, FpaeError, UNet, load, read_gray, write_png

# fpae's CPU activation budget (fp_train::evaluate::CPU_ACTIVATION_BUDGET).
ACTIVATION_BUDGET = 512 << 20


def cpu_flags() -> set[str]:
    """The flags of the first processor in /proc/cpuinfo (none elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model() -> str:
    """The ``model name`` line of /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def bf16_native(flags: set[str]) -> bool:
    """Whether the CPU computes bf16 natively, as fpae's ``--precision auto`` decides."""
    return "avx512_bf16" in flags or "amx_bf16" in flags


def list_prints(root: Path) -> list[str]:
    """Image paths under ``root`` relative to it, sorted, hidden names skipped, links followed."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and name.rsplit(".", 1)[-1].lower() in IMAGE_EXTENSIONS:
                found.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(found)


def unet_nodes(net: UNet, height: int, width: int) -> list[dict]:
    """fpae's graph of ``net`` (``kinds/unet.rs``) at a padded input size: each node's
    name, output height, width and channels, and for a convolution its input
    channels, kernel and whether a 2x nearest upsampling feeds it."""
    nodes = [{"name": "input", "h": height, "w": width, "c": 1}]

    def push(name, h, w, c, **conv):
        nodes.append({"name": name, "h": h, "w": w, "c": c, **conv})

    def block(conv, norm, c_in, filters, h, w, after_upsampling=False):
        kernel = getattr(net, conv).kernel_size[0]
        push(conv, h, w, filters, cin=c_in, kernel=kernel, after_upsampling=after_upsampling)
        if net.norm != "none":
            push(norm, h, w, filters)

    def blocks(name, c_in, filters, h, w):
        for j in (1, 2):
            block(f"{name}_conv{j}", f"{name}_norm{j}", c_in if j == 1 else filters, filters, h, w)
        return filters

    h, w, c, skips = height, width, 1, []
    for level in range(1, net.depth + 1):
        c = blocks(f"down{level}", c, net.base_width << (level - 1), h, w)
        skips.append(c)
        h, w = h // 2, w // 2
        push(f"down{level}_pool", h, w, c)
    c = blocks("bottom", c, net.base_width << net.depth, h, w)
    for i in range(1, net.context + 1):
        block(f"bottom_context{i}", f"bottom_context{i}_norm", c, c, h, w)
    for level in range(net.depth, 0, -1):
        filters = net.base_width << (level - 1)
        name = f"up{level}"
        if net.upsampling == "nearest-conv":
            push(f"{name}_nearest", 2 * h, 2 * w, c)
            push(name, 2 * h, 2 * w, filters, cin=c, kernel=3, after_upsampling=True)
        elif net.upsampling == "transposed":
            push(name, 2 * h, 2 * w, filters, cin=c, kernel=2, transposed=True)
        else:
            push(name, h, w, 4 * filters, cin=c, kernel=3)
            push(f"{name}_shuffle", 2 * h, 2 * w, filters)
        h, w = 2 * h, 2 * w
        push(f"{name}_concat", h, w, 2 * filters)
        c = blocks(name, 2 * filters, filters, h, w)
    push("out", h, w, 1, cin=c, kernel=1)
    if net.residual:
        push("refine", h, w, 1)
    return nodes


def convolutions(nodes: list[dict]) -> list[dict]:
    """The convolutions among ``nodes``, in the fields xtask's FLOP count reads."""
    return [
        {
            "name": n["name"],
            "height": n["h"],
            "width": n["w"],
            "cin": n["cin"],
            "cout": n["c"],
            "kernel": n["kernel"],
            "after_upsampling": n.get("after_upsampling", False),
        }
        for n in nodes
        if "cin" in n and not n.get("transposed")
    ]


def padded(size: tuple[int, int], stride: int) -> tuple[int, int]:
    h, w = size
    return (h + stride - 1) // stride * stride, (w + stride - 1) // stride * stride


class Policy:
    """fpae's batches: ``batch`` prints in order, one size at a time, cut to the budget."""

    def __init__(self, network, batch: int, budget: int):
        self.network, self.batch, self.budget = network, max(1, batch), budget
        self._per_size: dict[tuple[int, int], int] = {}

    def nodes(self, size: tuple[int, int]) -> list[dict] | None:
        if not isinstance(self.network, UNet):
            return None
        return unet_nodes(self.network, *padded(size, self.network.stride))

    def batch_for(self, size: tuple[int, int]) -> int:
        """``TrainedModel::batch_within_budget`` for prints of ``size`` (height, width)."""
        if size not in self._per_size:
            nodes = self.nodes(size)
            if nodes is None:
                self._per_size[size] = self.batch
            else:
                per_image = max(1, 4 * sum(n["h"] * n["w"] * n["c"] for n in nodes))
                self._per_size[size] = min(self.batch, max(1, self.budget // per_image))
        return self._per_size[size]


def plan(policy: Policy, root: Path, names: list[str]) -> dict:
    """The sizes of the prints, each size's batch and convolutions; nothing is run."""
    sizes: dict[tuple[int, int], int] = {}
    for name in names:
        shape = tuple(read_gray(root / name).shape)
        sizes[shape] = sizes.get(shape, 0) + 1
    out = []
    for (h, w), count in sorted(sizes.items()):
        nodes = policy.nodes((h, w))
        out.append(
            {
                "height": h,
                "width": w,
                "prints": count,
                "padded": list(padded((h, w), policy.network.stride)),
                "batch": policy.batch_for((h, w)),
                "activation_bytes": None if nodes is None else 4 * sum(n["h"] * n["w"] * n["c"] for n in nodes),
                "convs": None if nodes is None else convolutions(nodes),
            }
        )
    return {"prints": len(names), "sizes": out}


class TorchEngine:
    """The twin: channels-last, bf16 autocast where native."""

    def __init__(self, model, bf16: bool):
        self.model, self.bf16 = model, bf16
        self.network = model.network.to(memory_format=torch.channels_last)
        self.stride = model.stride

    @torch.inference_mode()
    def run(self, x: np.ndarray) -> np.ndarray:
        """``[N, 1, H, W]`` float32 values, H and W multiples of the stride, to the network's output."""
        t = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            y = self.network(t)
        return y.float().contiguous().numpy()


class OnnxEngine:
    """onnxruntime's CPU provider, every graph optimisation on."""

    def __init__(self, path: Path, threads: int, stride: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Threads that sleep while they wait, as fpae's and the twin's OpenMP threads do
        # in the bench (spinning costs most on cores shared with other programs).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.stride = int(meta.get("fpae.stride", stride))
        if self.stride != stride:
            raise FpaeError(f"{path}: stride {self.stride}, the model folder's network has {stride}")
        self.version = ort.__version__

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run(["output"], {"input": x})[0]


def forward_any_size(engine, values: np.ndarray) -> np.ndarray:
    """``[N, H, W]`` values padded at the bottom and right to the stride (edge pixels
    repeated), through the engine, cropped back to ``[N, H, W]``."""
    n, h, w = values.shape
    ph, pw = padded((h, w), engine.stride)
    x = values[:, None]
    if (ph, pw) != (h, w):
        x = np.pad(x, ((0, 0), (0, 0), (0, ph - h), (0, pw - w)), mode="edge")
    return engine.run(np.ascontiguousarray(x))[:, 0, :h, :w]


def restore_all(engine, model, policy: Policy, root: Path, names: list[str], out: Path, threads: int) -> dict:
    """Every print through ``engine``, fpae's batches; returns counts and sizes."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, threads))
    pixels_in = pixels_padded = 0
    batches: dict[str, int] = {}

    def write(name: str, values: np.ndarray, original: torch.Tensor):
        restored = model.scaling.invert(torch.from_numpy(values), original)
        target = out / (name.rsplit(".", 1)[0] + ".png")
        target.parent.mkdir(parents=True, exist_ok=True)
        write_png(target, restored)

    pending = []
    for start in range(0, len(names), policy.batch):
        chunk = names[start : start + policy.batch]
        decoded = list(pool.map(lambda n: read_gray(root / n), chunk))
        by_size: dict[tuple[int, int], list[int]] = {}
        for k, p in enumerate(decoded):
            by_size.setdefault(tuple(p.shape), []).append(k)
        for size in sorted(by_size, key=lambda s: (s[1], s[0])):
            members = by_size[size]
            per = policy.batch_for(size)
            batches[f"{size[0]}x{size[1]}"] = per
            for i in range(0, len(members), per):
                part = members[i : i + per]
                values = np.stack([model.scaling.apply(decoded[k]).numpy() for k in part])
                outputs = forward_any_size(engine, values)
                ph, pw = padded(size, engine.stride)
                pixels_in += len(part) * size[0] * size[1]
                pixels_padded += len(part) * ph * pw
                pending += [pool.submit(write, chunk[k], outputs[j], decoded[k]) for j, k in enumerate(part)]
        for f in pending:
            f.result()
        pending = []
    pool.shutdown()
    return {"megapixels": pixels_in / 1e6, "padded_megapixels": pixels_padded / 1e6, "batches": batches}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fpae_torch.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="model folder, run directory, or the name of a ready-made model")
    parser.add_argument("input", type=Path, help="folder of prints (searched recursively)")
    parser.add_argument("--out", type=Path, help="folder of the restored prints")
    parser.add_argument("--engine", choices=["torch", "onnx"], default="torch")
    parser.add_argument("--onnx", type=Path, help="the model as ONNX (`fpae export MODEL --format onnx`)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="intra-op threads")
    parser.add_argument("--batch", type=int, default=32, help="prints per batch at most (fpae restore's --batch)")
    parser.add_argument("--budget", type=int, default=ACTIVATION_BUDGET, help="activation bytes per batch at most")
    parser.add_argument("--checkpoint", default="best", choices=["best", "last"], help="of a run directory")
    parser.add_argument("--plan", action="store_true", help="print the batches and convolutions; run nothing")
    args = parser.parse_args(argv)
    try:
        started = time.perf_counter()
        torch.set_num_threads(args.threads)
        model = load(args.model, args.checkpoint, "cpu")
        if model.preprocess.resize != "none":
            raise FpaeError(f"{args.model}: the bench restores prints at their own size (data.resize = \"none\")")
        names = list_prints(args.input)
        if not names:
            raise FpaeError(f"{args.input}: no images in this folder")
        policy = Policy(model.network, args.batch, args.budget)
        if args.plan:
            print(json.dumps(plan(policy, args.input, names)))
            return 0
        if args.out is None:
            raise FpaeError("--out is required unless --plan")
        flags = cpu_flags()
        report = {"engine": args.engine, "threads": args.threads, "batch": args.batch, "cpu": cpu_model()}
        if args.engine == "torch":
            bf16 = bf16_native(flags)
            engine = TorchEngine(model, bf16)
            report.update(
                torch=torch.__version__,
                precision="bf16-autocast" if bf16 else "f32",
                channels_last=True,
                omp_wait_policy=os.environ.get("OMP_WAIT_POLICY", "default"),
                allocator=next((a for a in ("jemalloc", "tcmalloc") if a in os.environ.get("LD_PRELOAD", "")), "glibc"),
            )
        else:
            if args.onnx is None:
                raise FpaeError("--engine onnx needs --onnx FILE")
            engine = OnnxEngine(args.onnx, args.threads, model.stride)
            report.update(
                onnxruntime=engine.version, precision="f32", graph_optimization="all", intra_op_spinning=False
            )
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        counts = restore_all(engine, model, policy, args.input, names, args.out, args.threads)
        seconds = time.perf_counter() - started
    except FpaeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report.update(
        images=len(names),
        seconds=round(seconds, 3),
        per_image_s=seconds / len(names),
        load_seconds=round(load_seconds, 3),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **counts,
    )
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
