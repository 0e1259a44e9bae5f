"""fpae's models in plain PyTorch.

Loads a model folder written by ``fpae export`` (or by ``python -m
fpae_torch.train``), a run directory or a ready-made model by name, and applies
it to prints exactly as ``fpae restore`` does::

    import fpae_torch

    model = fpae_torch.load("restore-fvc2002")       # a name, a model folder or a run
    pixels = fpae_torch.read_gray("print.png")       # uint8 [H, W], as fpae decodes it
    restored = fpae_torch.restore(pixels.numpy(), model)   # numpy uint8 [H, W]

``python -m fpae_torch MODEL PRINT... --out DIR`` does the same from the
command line, ``python -m fpae_torch.train`` trains a model from pair shards
(with torch.distributed), and ``python -m fpae_torch.export`` writes ONNX. See
docs/pytorch.md in the fpae repository.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .model import (
    MODEL_CONFIG_FILE,
    MODEL_WEIGHTS_FILE,
    MODELS_VAR,
    RUN_CONFIG_FILE,
    STATE_FILE,
    BatchNorm,
    FpaeError,
    FpaeModel,
    Preprocess,
    Scaling,
    TutorialCae,
    UNet,
    build_network,
    decode_gray,
    load,
    load_network,
    read_gray,
    read_safetensors,
    resize_u8,
    resolve,
    write_npy,
    write_png,
    write_safetensors,
)

__all__ = [
    "MODEL_CONFIG_FILE",
    "MODEL_WEIGHTS_FILE",
    "MODELS_VAR",
    "RUN_CONFIG_FILE",
    "STATE_FILE",
    "BatchNorm",
    "FpaeError",
    "FpaeModel",
    "Preprocess",
    "Scaling",
    "TutorialCae",
    "UNet",
    "build_network",
    "decode_gray",
    "load",
    "load_network",
    "read_gray",
    "read_safetensors",
    "resize_u8",
    "resolve",
    "restore",
    "write_npy",
    "write_png",
    "write_safetensors",
]

# Models `restore` loaded by name or path, so that a loop over prints loads each once.
_LOADED: dict[tuple[str, str], FpaeModel] = {}


def restore(
    pixels: np.ndarray, model: FpaeModel | str | Path = "restore-fvc2002", checkpoint: str = "best"
) -> np.ndarray:
    """What ``fpae restore`` writes for a print: ``pixels`` are its 8-bit grey
    values, a ``uint8`` array ``[H, W]``; the result is ``uint8 [H, W]`` at the
    same size. ``model`` is a loaded model, or anything :func:`load` takes (loaded
    once and kept)."""
    array = np.asarray(pixels)
    if array.dtype != np.uint8 or array.ndim != 2 or array.size == 0:
        raise FpaeError(f"restore: expected uint8 pixels [H, W], got {array.dtype} {list(array.shape)}")
    if not isinstance(model, FpaeModel):
        key = (str(Path(model).resolve()) if Path(model).exists() else str(model), checkpoint)
        if key not in _LOADED:
            _LOADED[key] = load(model, checkpoint)
        model = _LOADED[key]
    out = model.apply(torch.from_numpy(np.ascontiguousarray(array)))
    return out.numpy()
