"""``python -m fpae_torch MODEL IMAGE|DIR... --out DIR``: applies a model to
prints with plain PyTorch and writes what ``fpae restore`` writes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from .model import IMAGE_EXTENSIONS, FpaeError, load, read_gray, write_npy, write_png


def _jobs(inputs: list[str], out: Path) -> list[tuple[Path, Path]]:
    """(image, output path without extension): a folder's images keep their paths
    below ``out``, files given directly are named by their stems."""
    jobs = []
    for given in map(Path, inputs):
        if given.is_dir():
            found = sorted(
                p.relative_to(given).as_posix()
                for p in given.rglob("*")
                if p.is_file()
                and p.suffix[1:].lower() in IMAGE_EXTENSIONS
                and not any(part.startswith(".") for part in p.relative_to(given).parts)
            )
            if not found:
                raise FpaeError(f"{given}: no images in this folder")
            jobs += [(given / rel, out / rel.rsplit(".", 1)[0]) for rel in found]
        else:
            jobs.append((given, out / given.stem))
    targets = sorted(str(t) for _, t in jobs)
    for a, b in zip(targets, targets[1:]):
        if a == b:
            raise FpaeError(f"two inputs would both be written to {a}.png; give them separately")
    return jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fpae_torch",
        description="Apply an fpae model folder to prints with plain PyTorch, as `fpae restore` does."
    )
    parser.add_argument("model", help="model folder (`fpae export`), run directory, or the name of a ready-made model")
    parser.add_argument("inputs", nargs="+", metavar="IMAGE|DIR", help="prints, or folders of prints")
    parser.add_argument("--out", required=True, type=Path, help="folder to write the outputs into")
    parser.add_argument(
        "--models", type=Path, help="where ready-made models are found by name (default: $FPAE_MODELS, then models/)"
    )
    parser.add_argument("--checkpoint", default="best", choices=["best", "last"], help="of a run directory")
    parser.add_argument(
        "--model-size", action="store_true", help="write outputs at the model's resolution, not each input's size"
    )
    parser.add_argument("--npy", action="store_true", help="also write the network's float32 output as NAME.npy")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N")
    parser.add_argument("--threads", type=int, help="CPU threads (default: PyTorch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        model = load(args.model, args.checkpoint, args.device, args.models)
        jobs = _jobs(args.inputs, args.out)
    except FpaeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    failed = 0
    for image, target in jobs:
        try:
            pixels = read_gray(image)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_png(target.with_name(target.name + ".png"), model.apply(pixels, not args.model_size))
            if args.npy:
                write_npy(target.with_name(target.name + ".npy"), model.outputs(pixels))
        except OSError as e:
            print(f"error: {e.filename or image}: {e.strerror or e}", file=sys.stderr)
            failed += 1
        except FpaeError as e:
            print(f"error: {e}", file=sys.stderr)
            failed += 1
    print(f"{len(jobs) - failed} written to {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
