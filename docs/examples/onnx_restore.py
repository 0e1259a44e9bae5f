#!/usr/bin/env python3
"""Restore prints with a model exported by `fpae export --format onnx`, in onnxruntime.

Each print is read as 8-bit grey (Pillow: PNG, TIFF, BMP, JPEG), scaled as the
file's `fpae.scaling` metadata says, padded to the network's stride
(`fpae.stride`) by repeating its edge pixels, run at its own size, cropped back,
and written as `OUT/<path relative to --root>.png` (the layout of
`fpae restore --manifest`). Prints of one size go through the model together,
`--batch` at a time. Needs numpy, onnxruntime and Pillow.

    python onnx_restore.py restore.onnx --manifest list.txt --root data/fvc2002 \\
        --out restored --threads 2

Prints the prints, seconds and prints/s as JSON on standard output; seconds
cover reading, the model and writing, not loading the model.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort
from PIL import Image


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="the .onnx file")
    p.add_argument("inputs", nargs="*", help="prints (relative to --root)")
    p.add_argument("--manifest", help="a file listing the prints, one a line (relative to --root)")
    p.add_argument("--root", default=".", help="folder the inputs are relative to (default: .)")
    p.add_argument("--out", required=True, help="folder of the restored prints")
    p.add_argument("--threads", type=int, default=0, help="onnxruntime's intra-op threads (default: its own choice)")
    p.add_argument("--batch", type=int, default=8, help="prints of one size a run of the model (default 8)")
    args = p.parse_args(argv)
    if args.manifest:
        with open(args.manifest, encoding="utf-8") as f:
            args.inputs += [line.strip() for line in f if line.strip() and not line.startswith("#")]
    if not args.inputs:
        p.error("no inputs: give prints or --manifest")
    return args


def read_gray(path):
    """8-bit grey pixels ``uint8 [H, W]``; colour becomes its luminance."""
    with Image.open(path) as image:
        return np.asarray(image.convert("L"), dtype=np.uint8)


def write_png(path, pixels):
    """Writes to a temporary name, then renames."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = path + ".tmp"
    Image.fromarray(pixels, mode="L").save(tmp, format="PNG")
    os.replace(tmp, path)


class Restorer:
    def __init__(self, model, threads):
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.stride = int(meta["fpae.stride"])
        self.scaling = json.loads(meta["fpae.scaling"])
        if self.scaling["kind"] not in ("divide", "per-image-min-max"):
            raise SystemExit(f"error: {model}: unknown fpae.scaling {self.scaling!r}")

    def _range(self, pixels):
        """(offset, factor): values = (pixels - offset) / factor, as fpae computes them in float32."""
        if self.scaling["kind"] == "divide":
            return np.float32(0), np.float32(self.scaling["divisor"])
        low, high = int(pixels.min()), int(pixels.max())
        return np.float32(low), np.float32(max(high - low, 1))

    def restore(self, prints):
        """Restored 8-bit pixels of prints of one size."""
        h, w = prints[0].shape
        s = self.stride
        ranges = [self._range(p) for p in prints]
        values = []
        for p, (offset, factor) in zip(prints, ranges):
            if self.scaling["kind"] == "divide":
                x = p.astype(np.float32) * (np.float32(1) / factor)
            else:
                x = (p.astype(np.float32) - offset) / factor
            values.append(np.pad(x, ((0, -h % s), (0, -w % s)), mode="edge"))
        out = self.session.run(["output"], {"input": np.stack(values)[:, None]})[0][:, 0, :h, :w]
        restored = []
        for y, (offset, factor) in zip(out, ranges):
            scaled = offset + y.astype(np.float32) * factor
            # Rounded half away from zero, as fpae rounds.
            rounded = np.sign(scaled) * np.floor(np.abs(scaled) + np.float32(0.5))
            restored.append(np.clip(rounded, 0, 255).astype(np.uint8))
        return restored


def main(argv=None):
    args = parse_args(argv)
    restorer = Restorer(args.model, args.threads)
    started = time.perf_counter()
    by_size = {}
    for rel in args.inputs:
        pixels = read_gray(os.path.join(args.root, rel))
        by_size.setdefault(pixels.shape, []).append((rel, pixels))
    for group in by_size.values():
        for i in range(0, len(group), args.batch):
            chunk = group[i : i + args.batch]
            for (rel, _), pixels in zip(chunk, restorer.restore([p for _, p in chunk])):
                out = os.path.join(args.out, os.path.splitext(rel.lstrip("/"))[0] + ".png")
                write_png(out, pixels)
    seconds = time.perf_counter() - started
    n = len(args.inputs)
    print(json.dumps({"prints": n, "seconds": round(seconds, 3), "prints_per_s": round(n / seconds, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
