"""Training pairs as WebDataset-style tar shards, the layout ``fpae pairs`` writes.

``DIR/000000.tar``, ``DIR/000001.tar``, ... each hold samples as three members
named by the sample's key: ``<key>.input.png`` (the damaged crop, 8-bit grey),
``<key>.target.png`` (the clean crop) and ``<key>.json`` (where it comes from).
``DIR/manifest.json`` says what they hold (``format = "fpae-pairs"``, version 1,
``count``, the ``scaling`` that maps the PNGs' pixels to [0, 1], the shards).
Samples are in the order a training run takes them.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .model import FpaeError, decode_gray, write_atomically, write_png

FORMAT = "fpae-pairs"
VERSION = 1
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Sample:
    """One pair: where it is, and its key."""

    shard: Path
    key: str


class Shards:
    """The samples of a shards folder, in order, decoded on demand."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        manifest_path = self.folder / MANIFEST
        try:
            self.manifest = json.loads(manifest_path.read_text())
        except OSError as e:
            raise FpaeError(f"cannot read {manifest_path}: {e} (a shards folder without it is incomplete)") from e
        except ValueError as e:
            raise FpaeError(f"{manifest_path}: not JSON ({e})") from e
        if self.manifest.get("format") != FORMAT or self.manifest.get("version") != VERSION:
            raise FpaeError(
                f"{manifest_path}: expected format {FORMAT!r} version {VERSION}, "
                f"got {self.manifest.get('format')!r} version {self.manifest.get('version')}"
            )
        self.divisor = _divisor(self.manifest.get("scaling"), manifest_path)
        self.samples: list[Sample] = []
        names = [s["name"] for s in self.manifest.get("shards", [])]
        for name in names:
            path = self.folder / name
            try:
                with tarfile.open(path) as tar:
                    keys = sorted({m.name.split(".", 1)[0] for m in tar.getmembers() if m.isfile()})
            except (OSError, tarfile.TarError) as e:
                raise FpaeError(f"{path}: cannot read the shard ({e})") from e
            self.samples += [Sample(path, key) for key in keys]
        if not self.samples:
            raise FpaeError(f"{self.folder}: no samples in the shards {names}")
        if self.manifest.get("count", len(self.samples)) != len(self.samples):
            raise FpaeError(f"{manifest_path}: count {self.manifest['count']}, but the shards hold {len(self.samples)}")
        self._open: dict[Path, tarfile.TarFile] = {}

    def __len__(self) -> int:
        return len(self.samples)

    def _member(self, shard: Path, name: str) -> bytes:
        tar = self._open.get(shard)
        if tar is None:
            tar = self._open[shard] = tarfile.open(shard)
        try:
            return tar.extractfile(name).read()
        except (KeyError, AttributeError) as e:
            raise FpaeError(f"{shard}: no member {name}") from e

    def pixels(self, index: int) -> tuple[Tensor, Tensor]:
        """Sample ``index``'s input and target as 8-bit pixels ``[H, W]``."""
        s = self.samples[index]
        pair = []
        for part in ("input", "target"):
            name = f"{s.key}.{part}.png"
            pair.append(decode_gray(self._member(s.shard, name), f"{s.shard}:{name}"))
        if pair[0].shape != pair[1].shape:
            raise FpaeError(f"{s.shard}: sample {s.key}'s input and target differ in size")
        return pair[0], pair[1]

    def values(self, index: int) -> tuple[Tensor, Tensor]:
        """Sample ``index``'s input and target as float32 in [0, 1]: the pixels
        divided as the manifest's ``scaling`` says, in float32 as fpae does."""
        inverse = torch.tensor(1.0, dtype=torch.float32) / torch.tensor(self.divisor, dtype=torch.float32)
        return tuple(p.to(torch.float32) * inverse for p in self.pixels(index))


def _divisor(scaling, where: Path) -> float:
    """The divisor of a manifest's ``scaling`` (255 when it has none)."""
    if scaling is None:
        return 255.0
    if isinstance(scaling, dict) and scaling.get("kind") == "divide" and float(scaling.get("divisor", 0)) > 0:
        return float(scaling["divisor"])
    raise FpaeError(
        f"{where}: scaling {scaling!r} is not supported; the trainer needs pixels divided by a constant "
        '(data.scale = "255" or "dataset-max")'
    )


def _tar_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.uid, info.gid = len(data), 0o644, 0, 0, 0
    tar.addfile(info, io.BytesIO(data))


def write_shards(folder: str | Path, pairs, shard_size: int = 1000, config: str = "", seed: int = 0) -> dict:
    """Writes ``pairs`` (``(input, target)`` uint8 ``[H, W]`` tensors) as shards in
    ``folder``, with a manifest, and returns the manifest. For tests and small
    data of one's own; ``fpae pairs`` writes the same layout from a config."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pairs = list(pairs)
    shards = []
    for first in range(0, len(pairs), shard_size):
        name = f"{len(shards):06d}.tar"
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            for number in range(first, min(first + shard_size, len(pairs))):
                key = f"{number:09d}"
                inp, target = pairs[number]
                _tar_member(tar, f"{key}.json", json.dumps({"key": key, "number": number}).encode())
                for part, pixels in (("input", inp), ("target", target)):
                    png = folder / f".{key}.{part}.png"
                    write_png(png, pixels)
                    _tar_member(tar, f"{key}.{part}.png", png.read_bytes())
                    png.unlink()
        data = buffer.getvalue()
        write_atomically(folder / name, data)
        shards.append(
            {"name": name, "samples": min(shard_size, len(pairs) - first), "bytes": len(data),
             "sha256": hashlib.sha256(data).hexdigest()}
        )
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "config_sha256": hashlib.sha256(config.encode()).hexdigest(),
        "config": config,
        "task": "restore",
        "seed": seed,
        "count": len(pairs),
        "shard_size": shard_size,
        "samples_per_epoch": len(pairs),
        "train_images": len(pairs),
        "scaling": {"kind": "divide", "divisor": 255.0},
        "shards": shards,
    }
    write_atomically(folder / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode())
    return manifest
