"""``python -m fpae_torch.train CONFIG --shards DIR --out MODEL_DIR [--steps N]``:
trains an fpae model from pair shards with torch.distributed, and writes a model
folder fpae loads as its own (``fpae restore MODEL_DIR ...``).

It reads the TOML config ``fpae train`` reads: ``[model]`` (the network), and of
``[train]`` ``epochs``, ``batch_size`` (the global batch, split evenly over the
processes), ``optimizer`` (``adam`` or ``rmsprop`` with ``rho``, ``beta1``,
``beta2``, ``epsilon``, as fp-train computes them), ``learning_rate``, ``seed`` and
``loss``. The samples come from shards in the layout ``fpae pairs`` writes, in
their order: step ``s`` takes the global batch of samples ``s*B .. s*B+B-1``
(wrapping around), and process ``r`` of ``W`` the ``r``-th of its ``W`` equal
parts, so any number of processes computes the same steps. Pixels are scaled
to [0, 1] as the shards' manifest says (a divisor, 255 for 8-bit prints).

Run as one process, or under ``torchrun --nproc_per_node=N``: the processes form
a group (gloo on the CPU, NCCL on GPUs) and DistributedDataParallel averages
their gradients. Initial weights are PyTorch's defaults drawn from ``train.seed``
(not fpae's initialisation). Batch normalisation uses each process's own part of
the batch, as plain DDP does.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
import tomllib
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from .losses import loss_function
from .model import (
    _KINDS,
    MODEL_CONFIG_FILE,
    MODEL_WEIGHTS_FILE,
    RUN_CONFIG_FILE,
    STATE_FILE,
    FpaeError,
    build_network,
    write_atomically,
    write_safetensors,
)
from .shards import Shards

# fp-train's `[train]` defaults (crates/fp-train/src/config.rs).
TRAIN_DEFAULTS = {
    "epochs": 300,
    "batch_size": 128,
    "optimizer": "rmsprop",
    "learning_rate": 1e-3,
    "rho": 0.9,
    "beta1": 0.9,
    "beta2": 0.999,
    "epsilon": 1e-7,
    "seed": 13,
    "init": None,
    "patience": None,
    "device": "auto",
    "precision": "auto",
    "loss": "mse",
}
OPTIMIZERS = ("rmsprop", "adam")


def read_config(path: Path) -> tuple[str, dict, dict]:
    """(the file's text, its ``[model]`` table, its ``[train]`` settings with defaults)."""
    try:
        text = path.read_text()
        config = tomllib.loads(text)
    except OSError as e:
        raise FpaeError(f"cannot read {path}: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise FpaeError(f"{path}: {e}") from e
    train = dict(TRAIN_DEFAULTS)
    for key, value in config.get("train", {}).items():
        if key not in TRAIN_DEFAULTS:
            raise FpaeError(f"{path}: train.{key}: unknown field, expected one of {', '.join(TRAIN_DEFAULTS)}")
        train[key] = value
    if train["optimizer"] not in OPTIMIZERS:
        raise FpaeError(f"{path}: train.optimizer: expected one of {', '.join(OPTIMIZERS)}, got {train['optimizer']!r}")
    if not isinstance(train["batch_size"], int) or train["batch_size"] < 1:
        raise FpaeError(f"{path}: train.batch_size: expected a positive integer, got {train['batch_size']!r}")
    if train["init"] is not None:
        raise FpaeError(f"{path}: train.init: starting from trained weights is not supported by this trainer")
    return text, config.get("model", {}), train


def make_optimizer(params, train: dict) -> torch.optim.Optimizer:
    """fp-train's optimisers: torch's Adam and RMSprop compute the same updates
    (``p -= lr m^ / (sqrt(v^) + eps)``; ``p -= lr g / (sqrt(v) + eps)``)."""
    lr, eps = float(train["learning_rate"]), float(train["epsilon"])
    if train["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(float(train["beta1"]), float(train["beta2"])), eps=eps)
    return torch.optim.RMSprop(params, lr=lr, alpha=float(train["rho"]), eps=eps)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise FpaeError(f"cannot write {value!r} as TOML")


def model_toml(model: dict, height: int, width: int) -> str:
    """``model.toml``: the input size and the whole ``[model]`` table, defaults filled in."""
    kind = model.get("kind", "tutorial-cae")
    settings = {"kind": kind, **_KINDS[kind][1], **{k: v for k, v in model.items() if k != "kind"}}
    lines = ["[input]", f"height = {height}", f"width = {width}", "", "[model]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in settings.items()]
    return "\n".join(lines) + "\n"


def distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank): torchrun's, or a single process's."""
    if "WORLD_SIZE" not in os.environ:
        return 0, 1, 0
    return int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0))


def pick_device(given: str, local_rank: int) -> torch.device:
    if given == "auto":
        given = "cuda" if torch.cuda.is_available() else "cpu"
    if given == "cuda":
        return torch.device("cuda", local_rank)
    return torch.device(given)


def train(args) -> Path | None:
    """Trains and, on rank 0, writes the model folder; returns its path there."""
    text, model_table, settings = read_config(args.config)
    rank, world, local_rank = distributed()
    device = pick_device(args.device or settings["device"], local_rank)
    if world > 1:
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        out = _train(args, text, model_table, settings, rank, world, device)
        if world > 1:
            # The processes leave together: one that tears its process group down while
            # another still holds it (rank 0 writing the model) can abort in gloo's teardown.
            dist.barrier()
        return out
    finally:
        if world > 1:
            dist.destroy_process_group()


def _train(args, text, model_table, settings, rank, world, device) -> Path | None:
    batch = settings["batch_size"]
    if batch % world:
        raise FpaeError(f"train.batch_size {batch} is not divisible by the {world} processes")
    if rank == 0 and args.out.exists():
        raise FpaeError(f"--out {args.out}: already exists; choose another folder")
    shards = Shards(args.shards)
    n = len(shards)
    steps = args.steps if args.steps is not None else settings["epochs"] * max(1, n // batch)
    torch.manual_seed(int(settings["seed"]))
    network = build_network(model_table).to(device)
    height, width = shards.pixels(0)[0].shape
    if height % network.stride or width % network.stride:
        raise FpaeError(
            f"{args.shards}: samples of {width}x{height} are not a multiple of the network's stride {network.stride}"
        )
    model = network
    if world > 1:
        model = DistributedDataParallel(network, device_ids=[device] if device.type == "cuda" else None)
    model.train()
    optimizer = make_optimizer(model.parameters(), settings)
    compute_loss = loss_function(settings["loss"])
    part = batch // world
    every = max(1, steps // 20)
    started, last = time.monotonic(), float("nan")
    for step in range(steps):
        indices = [(step * batch + rank * part + i) % n for i in range(part)]
        pairs = [shards.values(i) for i in indices]
        inputs = torch.stack([p[0] for p in pairs]).unsqueeze(1).to(device)
        targets = torch.stack([p[1] for p in pairs]).unsqueeze(1).to(device)
        optimizer.zero_grad(set_to_none=True)
        loss = compute_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
        reported = loss.detach().clone()
        if world > 1:
            dist.all_reduce(reported)
            reported /= world
        last = reported.item()
        if not math.isfinite(last):
            raise FpaeError(f"step {step + 1}: the loss is {last}")
        if rank == 0 and ((step + 1) % every == 0 or step + 1 == steps):
            print(f"step {step + 1}/{steps}: loss {last:.6f} ({time.monotonic() - started:.1f} s)", flush=True)
    if rank != 0:
        return None
    epochs = math.ceil(steps * batch / n)
    state = {
        "epochs_done": epochs,
        "batches_done": 0,
        "partial_loss_sum": 0.0,
        "partial_seconds": 0.0,
        "steps": steps,
        "best": None,
        "history": [],
        "scaling": {"kind": "divide", "divisor": shards.divisor},
    }
    card = (
        f"# {args.out.name}\n\nTrained with `python -m fpae_torch.train` (PyTorch {torch.__version__}) from "
        f"{args.config.name} on the {n} samples of {args.shards}: {steps} steps of a global batch of {batch} "
        f"({world} process{'es' if world > 1 else ''} on {device.type}), `{settings['optimizer']}` with lr "
        f"{settings['learning_rate']}, loss `{settings['loss']}`; the last step's loss was {last:.6f}. "
        f"Inputs {width}x{height}, pixels divided by {shards.divisor:g}.\n"
    )
    write_model_folder(args.out, text, model_toml(model_table, height, width), network.state_dict(), state, card)
    return args.out


def write_model_folder(out: Path, config: str, model: str, weights: dict, state: dict, card: str) -> None:
    """Writes a model folder as ``fpae export`` does (``config.toml``,
    ``model.toml``, ``model.safetensors``, ``state.json``), and ``MODEL.md``:
    into a temporary folder beside ``out``, renamed to ``out`` when whole."""
    staging = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        write_atomically(staging / RUN_CONFIG_FILE, config.encode())
        write_atomically(staging / MODEL_CONFIG_FILE, model.encode())
        write_safetensors(staging / MODEL_WEIGHTS_FILE, {k: v.float() for k, v in weights.items()})
        write_atomically(staging / STATE_FILE, (json.dumps(state, indent=2) + "\n").encode())
        write_atomically(staging / "MODEL.md", card.encode())
        os.rename(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fpae_torch.train",
        description="Train an fpae model from pair shards with torch.distributed (one process, or under torchrun).",
    )
    parser.add_argument("config", type=Path, help="the TOML config `fpae train` reads ([model], [train])")
    parser.add_argument("--shards", type=Path, required=True, help="folder of NNNNNN.tar shards and manifest.json")
    parser.add_argument("--out", type=Path, required=True, help="the model folder to create")
    parser.add_argument("--steps", type=int, help="optimisation steps (default: train.epochs passes over the samples)")
    parser.add_argument("--device", help="cpu, cuda or auto (default: train.device)")
    parser.add_argument("--threads", type=int, help="CPU threads per process (default: PyTorch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        out = train(args)
    except FpaeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if out is not None:
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
