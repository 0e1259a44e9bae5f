"""The tutorial's autoencoder in PyTorch eager, timed the way `fpae bench` times ours.

Run by `cargo xtask bench train` with the Python of the LibTorch install, one
process per measurement so that each peak RSS is its own. Prints one JSON object
as its last line.

--native DIR times inference of the prints under DIR at their own sizes, batched
and padded as `fpae bench --native` does: batches of --batch prints in sorted
path order, each padded at the bottom and right (repeating edge pixels) to the
largest height and width in it, rounded up to the network's stride (4).

--config FILE times the training step of a recipe instead of the tutorial's, as
`fpae bench --config` does: the recipe's [model] built by fpae's PyTorch twin
(python/fpae_torch), its loss (the twin's python/fpae_torch/losses.py, the
formulas of crates/fp-train/src/loss.rs), its optimiser with its settings, its
batch size and the side it trains on (the crop, or the image size), on random images; a restoration recipe's
targets are random images of their own. The loss is computed in f32 on the
network's output, outside autocast.

--profile runs one training step under torch.profiler (CPU activities) after the
warm-up steps and prints the operators that took the most self CPU time, then
the JSON line of that step.
"""
import argparse
import json
import os
import resource
import struct
import sys
import time
import tomllib
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

# fpae's PyTorch twin (python/fpae_torch): the recipe's network and the losses of
# crates/fp-train/src/loss.rs, formula for formula (LOSSES: train.loss's names).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "python"))
from fpae_torch import losses  # noqa: E402
from fpae_torch.model import build_network  # noqa: E402

LOSSES = losses.LOSSES

# Two 2x2 poolings: heights and widths must be multiples of 4.
STRIDE = 4


def autoencoder():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
        nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
        nn.Conv2d(128, 64, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
        nn.Conv2d(64, 1, 3, padding=1), nn.Sigmoid(),
    )


def twin_network(model_table):
    """The network of a recipe's [model] table, built by fpae's PyTorch twin."""
    return build_network(model_table)


class Recipe:
    """What `fpae bench --config` takes from a recipe, with fp-train's and
    fp-data's defaults for what it leaves out."""

    def __init__(self, path):
        with open(path, "rb") as f:
            table = tomllib.load(f)
        data, train = table.get("data", {}), table.get("train", {})
        self.model = table.get("model", {})
        self.restore = table.get("task", {}).get("kind", "reconstruct") == "restore"
        self.batch = train.get("batch_size", 128)
        self.loss = train.get("loss", "mse")
        self.optimizer = train.get("optimizer", "rmsprop")
        self.lr = train.get("learning_rate", 1e-3)
        self.rho = train.get("rho", 0.9)
        self.betas = (train.get("beta1", 0.9), train.get("beta2", 0.999))
        self.eps = train.get("epsilon", 1e-7)
        self.seed = train.get("seed", 13)
        # Config::training_input: the crop side at native resolution, else the image size.
        if data.get("resize", "stretch") == "none":
            self.side = data.get("crop", 128)
        elif data.get("height", 224) == data.get("width", 224):
            self.side = data.get("height", 224)
        else:
            raise SystemExit(f"{path}: trains on non-square images; give --size")

    def make_optimizer(self, params):
        if self.optimizer == "adam":
            # fpae's Adam: p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), as torch's.
            return torch.optim.Adam(params, lr=self.lr, betas=self.betas, eps=self.eps)
        return torch.optim.RMSprop(params, lr=self.lr, alpha=self.rho, eps=self.eps)


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pgm", ".pnm", ".webp")


def list_images(root):
    """Image files under root, as sorted '/'-separated relative paths (as fpae lists them)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and name.lower().endswith(IMAGE_EXTENSIONS):
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                found.append(rel.replace(os.sep, "/"))
    # fpae sorts Rust strings, byte-wise; UTF-8 byte order is code point order.
    return sorted(found)


def read_tiff_gray8(path):
    """An uncompressed 8-bit grayscale TIFF (FVC's format) as (height, width, bytes)."""
    with open(path, "rb") as f:
        data = f.read()
    order = {b"II": "<", b"MM": ">"}.get(data[:2])
    if order is None or struct.unpack(order + "H", data[2:4])[0] != 42:
        raise ValueError(f"{path}: not a TIFF file (install Pillow to read other formats)")
    ifd = struct.unpack(order + "I", data[4:8])[0]
    count = struct.unpack(order + "H", data[ifd:ifd + 2])[0]
    tags = {}
    for i in range(count):
        tag, kind, n, raw = struct.unpack(order + "HHI4s", data[ifd + 2 + 12 * i: ifd + 14 + 12 * i])
        size = {3: 2, 4: 4}.get(kind)
        if size is None:
            continue
        fmt = order + ("H" if kind == 3 else "I")
        if n * size <= 4:
            values = [struct.unpack(fmt, raw[j * size:(j + 1) * size])[0] for j in range(n)]
        else:
            at = struct.unpack(order + "I", raw)[0]
            values = [struct.unpack(fmt, data[at + j * size: at + (j + 1) * size])[0] for j in range(n)]
        tags[tag] = values
    width, height = tags[256][0], tags[257][0]
    if tags.get(258, [1])[0] != 8 or tags.get(259, [1])[0] != 1 or tags.get(277, [1])[0] != 1:
        raise ValueError(f"{path}: only uncompressed 8-bit grayscale TIFF is read without Pillow")
    pixels = b"".join(data[o:o + n] for o, n in zip(tags[273], tags[279]))[: width * height]
    if tags.get(262, [1])[0] == 0:  # WhiteIsZero
        pixels = bytes(255 - p for p in pixels)
    return height, width, pixels


def load_print(path):
    """One image as a [1, 1, H, W] f32 tensor in [0, 1]."""
    try:
        from PIL import Image
    except ImportError:
        height, width, pixels = read_tiff_gray8(path)
    else:
        with Image.open(path) as image:
            gray = image.convert("L")
            width, height = gray.size
            pixels = gray.tobytes()
    values = torch.frombuffer(bytearray(pixels), dtype=torch.uint8)
    return values.view(1, 1, height, width).float() / 255.0


def native_batches(sizes, batch, stride=STRIDE):
    """(start, end, height, width) of each batch of prints of (height, width) sizes:
    consecutive runs of `batch`, padded to the largest height and width in the run,
    rounded up to `stride` (as fpae bench --native batches them)."""
    def round_up(v):
        return -(-v // stride) * stride
    batch = max(batch, 1)
    out = []
    for start in range(0, len(sizes), batch):
        end = min(start + batch, len(sizes))
        out.append((start, end, round_up(max(h for h, _ in sizes[start:end])),
                    round_up(max(w for _, w in sizes[start:end]))))
    return out


def time_native(args, model, device, bf16):
    """Seconds of each timed pass over the prints at their own sizes, and what a pass holds."""
    files = list_images(args.native)
    if not files:
        raise SystemExit(f"no images under {args.native}")
    prints = [load_print(os.path.join(args.native, f)).to(device) for f in files]
    sizes = [(x.shape[2], x.shape[3]) for x in prints]
    batches = native_batches(sizes, args.batch)

    def run(start, end, height, width):
        padded = [x if (x.shape[2], x.shape[3]) == (height, width)
                  else F.pad(x, (0, width - x.shape[3], 0, height - x.shape[2]), mode="replicate")
                  for x in prints[start:end]]
        xs = torch.cat(padded, 0)
        if bf16:
            xs = xs.contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            model(xs).float().mean().item()

    if args.warmup > 0:
        seen = set()
        for b in batches:
            if b[2:] not in seen:
                seen.add(b[2:])
                run(*b)
    times = []
    for _ in range(max(args.steps, 1)):
        started = time.perf_counter()
        for b in batches:
            run(*b)
        times.append(time.perf_counter() - started)
    stats = {
        "images": len(prints),
        "batches": len(batches),
        "pixels": sum(h * w for h, w in sizes),
        "padded_pixels": sum((e - s) * h * w for s, e, h, w in batches),
    }
    return times, stats


def time_random(args, model, optimizer, device, bf16, loss_fn, separate_targets, profile=False):
    """Seconds of each timed step on random square images; with `profile`, the
    profiler's table of the one timed step."""
    pool = 2 * args.batch
    images = torch.rand(pool, 1, args.size, args.size, device=device)
    targets = torch.rand(pool, 1, args.size, args.size, device=device) if separate_targets else None
    if bf16:
        images = images.contiguous(memory_format=torch.channels_last)

    def step():
        index = torch.randperm(pool, device=device)[: args.batch]
        started = time.perf_counter()
        xs = images.index_select(0, index)
        if args.mode == "train":
            target = xs if targets is None else targets.index_select(0, index)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
                output = model(xs)
            loss = loss_fn(output.float(), target.float())
            loss.backward()
            optimizer.step()
            out = loss.detach()
        else:
            with torch.no_grad(), torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
                out = model(xs).float().mean()
        out.item()  # waits for the device
        return time.perf_counter() - started

    for _ in range(args.warmup):
        step()
    if profile:
        from torch.profiler import ProfilerActivity
        with torch.profiler.profile(activities=[ProfilerActivity.CPU]) as prof:
            seconds = step()
        table = prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.profile_rows)
        return [seconds], table
    return [step() for _ in range(max(args.steps, 1))], None


def allocator():
    """The allocator preloaded into this process, from LD_PRELOAD."""
    preload = os.environ.get("LD_PRELOAD", "")
    for name in ("jemalloc", "tcmalloc"):
        if name in preload:
            return name
    return "glibc"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["train", "infer"], default=None)
    parser.add_argument("--precision", choices=["f32", "bf16cl"], default="f32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=None, help="default: 128, or the recipe's batch_size")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--size", type=int, default=None, help="default: 224, or the side the recipe trains on")
    parser.add_argument("--config", metavar="FILE", default=None,
                        help="time the training step of this recipe (fpae bench --config)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads(N)")
    parser.add_argument("--native", metavar="DIR", default=None,
                        help="time inference of the prints under DIR at their own sizes")
    parser.add_argument("--profile", action="store_true",
                        help="profile one step after the warm-up and print the top operators")
    parser.add_argument("--profile-rows", type=int, default=15)
    args = parser.parse_args()
    if args.native is not None and args.mode == "train":
        parser.error("--native times inference only; leave out --mode train")
    if args.native is not None and args.profile:
        parser.error("--profile profiles a step on random images; leave out --native")
    if args.native is not None and args.config is not None:
        parser.error("--config times training on random images; leave out --native")
    args.mode = args.mode or ("infer" if args.native is not None else "train")
    recipe = Recipe(args.config) if args.config is not None else None
    if args.batch is None:
        args.batch = recipe.batch if recipe else 128
    if args.size is None:
        args.size = recipe.side if recipe else 224

    if args.threads is not None:
        torch.set_num_threads(max(args.threads, 1))
    device = torch.device(args.device)
    torch.manual_seed(recipe.seed if recipe else 13)
    if recipe is not None:
        if recipe.loss not in LOSSES:
            raise SystemExit(f"{args.config}: train.loss `{recipe.loss}` is not one of {', '.join(LOSSES)}")
        model = twin_network(recipe.model).to(device)
        optimizer = recipe.make_optimizer(model.parameters())
        loss_name = recipe.loss
    else:
        model = autoencoder().to(device)
        # Keras 2's RMSprop: rho 0.9, eps 1e-7 outside the square root, lr 1e-3.
        optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
        loss_name = "mse"
    bf16 = args.precision == "bf16cl"
    if bf16:
        model = model.to(memory_format=torch.channels_last)
    native = None
    table = None
    if args.native is not None:
        model.eval()
        times, native = time_native(args, model, device, bf16)
    else:
        separate = recipe is not None and recipe.restore
        times, table = time_random(args, model, optimizer, device, bf16, LOSSES[loss_name], separate,
                                   profile=args.profile)
    times.sort()
    median = times[len(times) // 2]
    result = {
        "mode": args.mode,
        "precision": args.precision,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "steps": len(times),
        "median_step_ms": median * 1e3,
        "images_per_sec": (native["images"] if native else args.batch) / median,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "allocator": allocator(),
        "torch": torch.__version__,
        "model": recipe.model.get("kind", "tutorial-cae") if recipe else "tutorial-cae",
        "loss": loss_name,
    }
    if recipe is not None:
        result["config"] = args.config
    if native:
        result.update(native)
    else:
        result["size"] = args.size
    if table is not None:
        print(f"one {args.mode} step, {args.precision}, batch {args.batch} at {args.size}x{args.size}, "
              f"{torch.get_num_threads()} threads, {allocator()} allocator; top operators by self CPU time:")
        print(table)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
