"""fpae's networks and model folders in plain PyTorch.

Loads a model folder written by ``fpae export`` (or a run directory) into an
ordinary ``torch.nn.Module``, by parameter name, and applies it to prints exactly
as ``fpae restore`` and ``fpae reconstruct`` do: the same decoding, resizing,
scaling, padding to the network's stride, and conversion back to 8-bit pixels.
Needs only Python 3.11 and torch; Pillow is used, when installed, for image
formats other than PNG. ``fpae_torch`` re-exports everything here; see
docs/pytorch.md in the fpae repository.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct
import sys
import tomllib
import zlib
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

MODEL_WEIGHTS_FILE = "model.safetensors"
MODEL_CONFIG_FILE = "model.toml"
RUN_CONFIG_FILE = "config.toml"
STATE_FILE = "state.json"
IMAGE_EXTENSIONS = ("tif", "tiff", "png", "bmp", "jpg", "jpeg")

# The epsilon and momentum of fpae's normalisations (PyTorch's defaults).
NORM_EPS = 1e-5
BATCH_NORM_MOMENTUM = 0.1


class FpaeError(Exception):
    """A model folder, configuration or image that cannot be used."""


# ---------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------

_SAFETENSORS_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def read_safetensors(path: str | Path) -> dict[str, Tensor]:
    """Every tensor of a safetensors file, by name.

    The format: an 8-byte little-endian header length, a JSON header mapping each
    name to its dtype, shape and byte range, then the raw little-endian data.
    ``safetensors.torch.load_file(path)`` returns the same, where that package is
    installed.
    """
    if sys.byteorder != "little":
        raise FpaeError("reading safetensors needs a little-endian machine")
    data = Path(path).read_bytes()
    if len(data) < 8:
        raise FpaeError(f"{path}: not a safetensors file (too short)")
    (header_len,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8 : 8 + header_len])
    except ValueError as e:
        raise FpaeError(f"{path}: not a safetensors file ({e})") from e
    body = memoryview(data)[8 + header_len :]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(entry["dtype"])
        if dtype is None:
            raise FpaeError(f"{path}: tensor {name} has unsupported dtype {entry['dtype']}")
        begin, end = entry["data_offsets"]
        raw = bytearray(body[begin:end])
        flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(entry["shape"])
    return tensors


_SAFETENSORS_NAMES = {dtype: name for name, dtype in _SAFETENSORS_DTYPES.items()}


def write_safetensors(path: str | Path, tensors: dict[str, Tensor]) -> None:
    """Writes tensors by name as a safetensors file, sorted by name, to a
    temporary name that is then renamed over ``path``. :func:`read_safetensors`
    and fpae read it."""
    if sys.byteorder != "little":
        raise FpaeError("writing safetensors needs a little-endian machine")
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {
            "dtype": _SAFETENSORS_NAMES[t.dtype],
            "shape": list(t.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    write_atomically(path, struct.pack("<Q", len(text)) + text + b"".join(chunks))


def write_atomically(path: str | Path, data: bytes) -> None:
    """Writes ``data`` to a temporary file beside ``path``, then renames it over ``path``."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


# ---------------------------------------------------------------------------
# The networks
# ---------------------------------------------------------------------------


def _check_kernel_size(kernel_size: int) -> None:
    if not (1 <= kernel_size <= 15) or kernel_size % 2 == 0:
        raise FpaeError(f"model.kernel_size: expected an odd size in 1..=15 ('same' padding), got {kernel_size}")


def _conv(c_in: int, c_out: int, kernel: int, bias: bool = True, dilation: int = 1) -> nn.Conv2d:
    """A stride-1 convolution with taps ``dilation`` apart and 'same' zero padding."""
    return nn.Conv2d(c_in, c_out, kernel, padding=dilation * (kernel // 2), dilation=dilation, bias=bias)


# How far from 0 and 1 a residual network clamps its input before the logit
# (fp-model's REFINE_EPS).
REFINE_EPS = 1e-3


def _upsample_nearest(x: Tensor) -> Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


class TutorialCae(nn.Module):
    """``kind = "tutorial-cae"``: the Keras tutorial's convolutional autoencoder.

    Encoder convolutions ``enc1 ... encN`` (ReLU) with a 2x2 max-pooling between
    consecutive ones; decoder convolutions ``dec1 ... decN`` with nearest 2x
    upsampling between them: the last encoder width, the encoder's widths back
    down without the first, then one sigmoid channel.
    """

    def __init__(self, filters: list[int], kernel_size: int = 3):
        super().__init__()
        if not (1 <= len(filters) <= 6):
            raise FpaeError(f"model.filters: expected 1 to 6 layer widths, got {len(filters)}")
        for f in filters:
            if not (1 <= f <= 4096):
                raise FpaeError(f"model.filters: expected widths in 1..=4096, got {f}")
        _check_kernel_size(kernel_size)
        self.filters = list(filters)
        self.kernel_size = kernel_size
        self.stride = 2 ** (len(filters) - 1)
        c = 1
        for i, f in enumerate(filters, 1):
            self.add_module(f"enc{i}", _conv(c, f, kernel_size))
            c = f
        self.decoder_widths = [filters[-1], *reversed(filters[1:-1]), 1] if len(filters) > 1 else [1]
        for i, f in enumerate(self.decoder_widths, 1):
            self.add_module(f"dec{i}", _conv(c, f, kernel_size))
            c = f

    def forward(self, x: Tensor) -> Tensor:
        for i in range(1, len(self.filters) + 1):
            if i > 1:
                x = F.max_pool2d(x, 2)
            x = torch.relu(getattr(self, f"enc{i}")(x))
        last = len(self.decoder_widths)
        for i in range(1, last + 1):
            if i > 1:
                x = _upsample_nearest(x)
            x = getattr(self, f"dec{i}")(x)
            x = torch.sigmoid(x) if i == last else torch.relu(x)
        return x


def group_count(channels: int) -> int:
    """Groups of fpae's group normalisation: the largest divisor of ``channels`` up to 8."""
    return next(g for g in range(min(channels, 8), 0, -1) if channels % g == 0)


class BatchNorm(nn.Module):
    """Batch normalisation with fpae's variables: ``weight``, ``bias``, ``running_mean``
    and ``running_var`` (``nn.BatchNorm2d`` would add ``num_batches_tracked``). In
    training mode it normalises with the batch's statistics and updates the running
    ones with momentum 0.1, as fpae does; in eval mode it uses the running ones."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: Tensor) -> Tensor:
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, self.training, BATCH_NORM_MOMENTUM, NORM_EPS
        )


class UNet(nn.Module):
    """``kind = "unet"``: an encoder-decoder with skip connections.

    Per encoder level ``down{i}``: two blocks (convolution, normalisation, ReLU)
    ``down{i}_conv{j}``/``down{i}_norm{j}``, then a 2x2 max-pooling; a bottleneck
    ``bottom``; per decoder level ``up{i}``: an upsampling whose weights are named
    ``up{i}``, the features of ``down{i}`` concatenated in front of its output, two
    blocks; a 1x1 convolution ``out`` and a sigmoid. Level i (from 0) is
    ``base_width * 2^i`` wide. The upsampling's convolutions are 3x3 whatever
    ``kernel_size`` is, as in fpae. ``context`` dilated blocks after the
    bottleneck (``bottom_context{i}``, taps ``2^i`` apart, and
    ``bottom_context{i}_norm``); with ``residual`` the output is
    ``sigmoid(logit(input) + out)``, the input clamped to ``[REFINE_EPS, 1 - REFINE_EPS]``.
    """

    NORMS = ("none", "batch", "group")
    UPSAMPLINGS = ("nearest-conv", "transposed", "sub-pixel")

    def __init__(
        self,
        depth: int = 3,
        base_width: int = 16,
        norm: str = "group",
        upsampling: str = "nearest-conv",
        kernel_size: int = 3,
        context: int = 0,
        residual: bool = False,
    ):
        super().__init__()
        if not (1 <= depth <= 6):
            raise FpaeError(f"model.depth: expected 1 to 6 downsamplings, got {depth}")
        if not (1 <= base_width <= 512):
            raise FpaeError(f"model.base_width: expected a width in 1..=512, got {base_width}")
        if norm not in self.NORMS:
            raise FpaeError(f"model.norm: unknown variant `{norm}`, expected one of {_quoted(self.NORMS)}")
        if upsampling not in self.UPSAMPLINGS:
            raise FpaeError(
                f"model.upsampling: unknown variant `{upsampling}`, expected one of {_quoted(self.UPSAMPLINGS)}"
            )
        if not (0 <= context <= 4):
            raise FpaeError(f"model.context: expected 0 to 4 dilated blocks, got {context}")
        _check_kernel_size(kernel_size)
        self.context, self.residual = context, residual
        self.depth, self.base_width, self.norm = depth, base_width, norm
        self.upsampling, self.kernel_size = upsampling, kernel_size
        self.stride = 2**depth

        def width(level: int) -> int:
            return base_width << level

        c = 1
        for level in range(1, depth + 1):
            c = self._add_blocks(f"down{level}", c, width(level - 1))
        c = self._add_blocks("bottom", c, width(depth))
        for i in range(1, context + 1):
            self._add_block(f"bottom_context{i}", f"bottom_context{i}_norm", c, c, 2**i)
        for level in range(depth, 0, -1):
            filters = width(level - 1)
            name = f"up{level}"
            if upsampling == "nearest-conv":
                self.add_module(name, _conv(c, filters, 3))
            elif upsampling == "transposed":
                self.add_module(name, nn.ConvTranspose2d(c, filters, 2, stride=2))
            else:
                self.add_module(name, _conv(c, 4 * filters, 3))
            c = self._add_blocks(name, filters + filters, filters)
        self.add_module("out", _conv(c, 1, 1))

    def _add_blocks(self, name: str, c_in: int, filters: int) -> int:
        for j in (1, 2):
            self._add_block(f"{name}_conv{j}", f"{name}_norm{j}", c_in if j == 1 else filters, filters, 1)
        return filters

    def _add_block(self, conv: str, norm: str, c_in: int, filters: int, dilation: int) -> None:
        self.add_module(conv, _conv(c_in, filters, self.kernel_size, bias=self.norm == "none", dilation=dilation))
        if self.norm == "batch":
            self.add_module(norm, BatchNorm(filters))
        elif self.norm == "group":
            self.add_module(norm, nn.GroupNorm(group_count(filters), filters, eps=NORM_EPS))

    def _block(self, conv: str, norm: str, x: Tensor) -> Tensor:
        x = getattr(self, conv)(x)
        if self.norm != "none":
            x = getattr(self, norm)(x)
        return torch.relu(x)

    def _blocks(self, name: str, x: Tensor) -> Tensor:
        for j in (1, 2):
            x = self._block(f"{name}_conv{j}", f"{name}_norm{j}", x)
        return x

    def _upsample(self, name: str, x: Tensor) -> Tensor:
        layer = getattr(self, name)
        if self.upsampling == "nearest-conv":
            return layer(_upsample_nearest(x))
        if self.upsampling == "transposed":
            return layer(x)
        return F.pixel_shuffle(layer(x), 2)

    def forward(self, x: Tensor) -> Tensor:
        image, skips = x, []
        for level in range(1, self.depth + 1):
            x = self._blocks(f"down{level}", x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self._blocks("bottom", x)
        for i in range(1, self.context + 1):
            x = self._block(f"bottom_context{i}", f"bottom_context{i}_norm", x)
        for level in range(self.depth, 0, -1):
            up = self._upsample(f"up{level}", x)
            x = self._blocks(f"up{level}", torch.cat([skips[level - 1], up], dim=1))
        if self.residual:
            return torch.sigmoid(torch.logit(image.float(), eps=REFINE_EPS) + self.out(x).float())
        return torch.sigmoid(self.out(x))


_KINDS = {
    "tutorial-cae": (TutorialCae, {"filters": [32, 64, 128], "kernel_size": 3}),
    "unet": (
        UNet,
        {
            "depth": 3,
            "base_width": 16,
            "norm": "group",
            "upsampling": "nearest-conv",
            "kernel_size": 3,
            "context": 0,
            "residual": False,
        },
    ),
}


def _quoted(names) -> str:
    return ", ".join(f"`{n}`" for n in names)


def build_network(model: dict) -> nn.Module:
    """The network of a ``[model]`` table (a table without ``kind`` is the tutorial's),
    with PyTorch's initial weights; unknown kinds and settings are errors."""
    settings = dict(model)
    kind = settings.pop("kind", "tutorial-cae")
    if kind not in _KINDS:
        raise FpaeError(f"model.kind: unknown model kind `{kind}`, expected one of {_quoted(_KINDS)}")
    cls, defaults = _KINDS[kind]
    unknown = sorted(set(settings) - set(defaults))
    if unknown:
        raise FpaeError(f"model: unknown field `{unknown[0]}` for kind `{kind}`, expected one of {_quoted(defaults)}")
    for key, value in settings.items():
        expected = type(defaults[key])
        if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool) or (
            expected is list and not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise FpaeError(f"model.{key}: invalid type {type(value).__name__}, expected {expected.__name__}")
    return cls(**{**defaults, **settings})


# ---------------------------------------------------------------------------
# Preprocessing and postprocessing, as fp-data does them
# ---------------------------------------------------------------------------


def _round(x: float) -> int:
    """Rust's ``f64::round``: halves away from zero (Python's ``round`` goes to even)."""
    t = math.trunc(x)
    if abs(x - t) >= 0.5:
        t += 1 if x > 0 else -1
    return int(t)


def _round_tensor(t: Tensor) -> Tensor:
    """``_round`` elementwise, in the tensor's own precision."""
    whole = torch.trunc(t)
    return whole + torch.where((t - whole).abs() >= 0.5, torch.sign(t), torch.zeros_like(t))


def _bilinear(x: float) -> float:
    x = abs(x)
    return 1.0 - x if x < 1.0 else 0.0


def _catmull_rom(x: float) -> float:
    a = -0.5
    x = abs(x)
    if x < 1.0:
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    if x < 2.0:
        return (((x - 5.0) * x + 8.0) * x - 4.0) * a
    return 0.0


def _sinc(x: float) -> float:
    if x == 0.0:
        return 1.0
    x *= math.pi
    return math.sin(x) / x


def _lanczos3(x: float) -> float:
    return _sinc(x) * _sinc(x / 3.0) if -3.0 <= x < 3.0 else 0.0


# fp-data's filter names -> (function, support). `nearest` is not a convolution.
_FILTERS = {"bilinear": (_bilinear, 1.0), "bicubic": (_catmull_rom, 2.0), "lanczos3": (_lanczos3, 3.0)}


def _axis_weights(in_size: int, in0: float, in1: float, out_size: int, filt) -> tuple[Tensor, int]:
    """The fixed-point weights of one axis as an ``[out, in]`` int64 matrix and their
    precision: Pillow's antialiased resampling, as the fast_image_resize crate
    computes it for 8-bit images."""
    function, support = filt
    scale = (in1 - in0) / out_size
    filter_scale = max(scale, 1.0)
    radius = support * filter_scale
    recip = 1.0 / filter_scale
    rows = []
    for out_x in range(out_size):
        in_center = in0 + (out_x + 0.5) * scale
        x_min = int(max(math.floor(in_center - radius), 0.0))
        x_max = int(min(math.ceil(in_center + radius), float(in_size)))
        center = in_center - 0.5
        start, weights, total = x_min, [], 0.0
        for x in range(x_min, x_max):
            w = function((x - center) * recip)
            if x == start and w == 0.0:
                start += 1
            else:
                weights.append(w)
                total += w
        if total != 0.0:
            weights = [w / total for w in weights]
        rows.append((start, weights))
    # The largest weight decides how many fraction bits fit in an i16 (at most 21).
    max_weight = max(w for _, weights in rows for w in weights)
    precision = 0
    for bits in range(22):
        precision = bits
        if _round(max_weight * (1 << (bits + 1))) >= 1 << 15:
            break
    matrix = torch.zeros(out_size, in_size, dtype=torch.int64)
    for out_x, (start, weights) in enumerate(rows):
        for k, w in enumerate(weights):
            matrix[out_x, start + k] = max(-32768, min(32767, _round(w * (1 << precision))))
    return matrix, precision


def _apply_weights(matrix: Tensor, precision: int, pixels: Tensor) -> Tensor:
    """``matrix @ pixels`` in fixed point, rounded and clipped to 8 bits (int64)."""
    sums = matrix @ pixels + (1 << (precision - 1))
    return torch.clamp(sums >> precision, 0, 255)


@dataclass(frozen=True)
class _CropBox:
    left: float
    top: float
    width: float
    height: float


def _fit_crop_box(src: tuple[int, int], dst: tuple[int, int]) -> _CropBox:
    """The centred part of ``src`` (width, height) with ``dst``'s aspect ratio
    (Pillow's ``ImageOps.fit``)."""
    width, height = float(src[0]), float(src[1])
    image_ratio = width / height
    required = dst[0] / dst[1]
    if abs(image_ratio - required) < sys.float_info.epsilon:
        crop_w, crop_h = width, height
    elif image_ratio >= required:
        crop_w, crop_h = required * height, height
    else:
        crop_w, crop_h = width, width / required
    return _CropBox((width - crop_w) * 0.5, (height - crop_h) * 0.5, crop_w, crop_h)


def resize_u8(pixels: Tensor, size: tuple[int, int], filter: str, crop: bool = False) -> Tensor:
    """Resizes 8-bit grey pixels ``[H, W]`` to ``size`` (width, height) as fpae does
    (the fast_image_resize crate: Pillow's filters, in fixed point); with ``crop``,
    the centred part with the target's aspect ratio is resized instead."""
    h, w = pixels.shape
    dst_w, dst_h = size
    box = _fit_crop_box((w, h), size) if crop else _CropBox(0.0, 0.0, float(w), float(h))
    if all(v == math.floor(v) for v in (box.left, box.top, box.width, box.height)) and (
        (box.width, box.height) == (dst_w, dst_h)
    ):
        top, left = int(box.top), int(box.left)
        return pixels[top : top + dst_h, left : left + dst_w].clone()
    if filter == "nearest":
        return _resize_nearest(pixels, box, size)
    filt = _FILTERS[filter]
    src = pixels.to(torch.int64)
    horizontal = dst_w != box.width or box.left != _round(box.left)
    vertical = dst_h != box.height or box.top != _round(box.top)
    if vertical:
        matrix, precision = _axis_weights(h, box.top, box.top + box.height, dst_h, filt)
        src = _apply_weights(matrix, precision, src)
    else:
        src = src[int(box.top) : int(box.top) + dst_h]
    if horizontal:
        matrix, precision = _axis_weights(w, box.left, box.left + box.width, dst_w, filt)
        src = _apply_weights(matrix, precision, src.T).T
    else:
        src = src[:, int(box.left) : int(box.left) + dst_w]
    return src.to(torch.uint8).contiguous()


def _resize_nearest(pixels: Tensor, box: _CropBox, size: tuple[int, int]) -> Tensor:
    h, w = pixels.shape
    dst_w, dst_h = size
    x_scale, y_scale = box.width / dst_w, box.height / dst_h
    x_start = box.left + x_scale * 0.5
    columns = [min(int(x_start + x_scale * x), w - 1) for x in range(dst_w)]
    # Rows step by repeated addition, as the crate does.
    y = box.top + y_scale * 0.5
    steps = min(math.ceil(max((h - y) / y_scale, 0.0)), dst_h)
    rows = []
    for _ in range(steps):
        rows.append(int(y))
        y += y_scale
    out = torch.zeros(dst_h, dst_w, dtype=torch.uint8)
    out[: len(rows)] = pixels[rows][:, columns]
    return out


def _border_mean(pixels: Tensor) -> int:
    """Mean of the outermost rows and columns: the print's background level."""
    h, w = pixels.shape
    mask = torch.zeros(h, w, dtype=torch.bool)
    mask[0, :] = mask[-1, :] = mask[:, 0] = mask[:, -1] = True
    border = pixels[mask].to(torch.int64)
    return _round(border.sum().item() / max(border.numel(), 1))


def _pad_box(source: tuple[int, int], target: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where an image of ``source`` (width, height) sits, fitted and centred, in
    ``target``: (left, top, width, height)."""
    sw, sh = float(source[0]), float(source[1])
    scale = min(target[0] / sw, target[1] / sh)
    width = max(1, min(_round(sw * scale), target[0]))
    height = max(1, min(_round(sh * scale), target[1]))
    return (target[0] - width) // 2, (target[1] - height) // 2, width, height


@dataclass(frozen=True)
class Preprocess:
    """The ``[data]`` settings that turn a decoded print into model-sized pixels."""

    height: int = 224
    width: int = 224
    filter: str = "bilinear"
    resize: str = "stretch"

    FILTERS = ("nearest", "bilinear", "bicubic", "lanczos3")
    RESIZES = ("stretch", "pad", "crop", "none")

    def __post_init__(self):
        if self.filter not in self.FILTERS:
            raise FpaeError(f"data.filter: unknown variant `{self.filter}`, expected one of {_quoted(self.FILTERS)}")
        if self.resize not in self.RESIZES:
            raise FpaeError(f"data.resize: unknown variant `{self.resize}`, expected one of {_quoted(self.RESIZES)}")

    def apply(self, pixels: Tensor) -> Tensor:
        """Model-sized 8-bit pixels of a decoded print ``[H, W]``; with
        ``resize = "none"`` the print itself."""
        size = (self.width, self.height)
        if self.resize == "none":
            return pixels
        if self.resize == "stretch":
            return resize_u8(pixels, size, self.filter)
        if self.resize == "crop":
            return resize_u8(pixels, size, self.filter, crop=True)
        h, w = pixels.shape
        left, top, fw, fh = _pad_box((w, h), size)
        fitted = resize_u8(pixels, (fw, fh), self.filter)
        out = torch.full((self.height, self.width), _border_mean(pixels), dtype=torch.uint8)
        out[top : top + fh, left : left + fw] = fitted
        return out

    def restore_size(self, pixels: Tensor, original: tuple[int, int]) -> Tensor:
        """Model-sized 8-bit pixels back at a print's ``original`` (width, height),
        inverting :meth:`apply`'s geometry."""
        ow, oh = original
        size = (self.width, self.height)
        if self.resize == "none":
            if tuple(pixels.shape) != (oh, ow):
                raise FpaeError(f"{tuple(pixels.shape)} pixels are not an image of the original {ow}x{oh}")
            return pixels
        if self.resize == "stretch":
            return resize_u8(pixels, original, self.filter)
        if self.resize == "pad":
            left, top, fw, fh = _pad_box(original, size)
            return resize_u8(pixels[top : top + fh, left : left + fw].contiguous(), original, self.filter)
        scale = max(size[0] / ow, size[1] / oh)
        rw = max(1, min(_round(size[0] / scale), ow))
        rh = max(1, min(_round(size[1] / scale), oh))
        region = resize_u8(pixels, (rw, rh), self.filter)
        out = torch.full((oh, ow), _border_mean(pixels), dtype=torch.uint8)
        left, top = (ow - rw) // 2, (oh - rh) // 2
        out[top : top + rh, left : left + rw] = region
        return out


@dataclass(frozen=True)
class Scaling:
    """How 8-bit pixels were mapped to [0, 1] for training (``state.json``'s ``scaling``):
    ``divide`` by ``divisor``, or ``per-image-min-max``."""

    kind: str
    divisor: float | None = None

    def apply(self, pixels: Tensor) -> Tensor:
        """float32 values of 8-bit pixels, computed in float32 as fpae does."""
        if self.kind == "divide":
            inverse = torch.tensor(1.0, dtype=torch.float32) / torch.tensor(self.divisor, dtype=torch.float32)
            return pixels.to(torch.float32) * inverse
        low, high = int(pixels.min()), int(pixels.max())
        if high == low:
            return torch.zeros(pixels.shape, dtype=torch.float32)
        return (pixels.to(torch.int32) - low).to(torch.float32) / torch.tensor(float(high - low))

    def invert(self, values: Tensor, original: Tensor) -> Tensor:
        """8-bit pixels of model values: the inverse of :meth:`apply` (``original``,
        the pixels the values were scaled from, gives per-image min-max its range),
        rounded half away from zero and clamped."""
        if self.kind == "divide":
            offset, factor = 0.0, self.divisor
        else:
            low, high = int(original.min()), int(original.max())
            offset, factor = float(low), float(high - low)
        offset_t = torch.tensor(offset, dtype=torch.float32)
        factor_t = torch.tensor(factor, dtype=torch.float32)
        scaled = offset_t + values.to(torch.float32) * factor_t
        return torch.clamp(_round_tensor(scaled), 0.0, 255.0).to(torch.uint8)

    @staticmethod
    def from_state(state: dict) -> Scaling:
        scaling = state.get("scaling")
        if not isinstance(scaling, dict):
            raise FpaeError("state.json has no `scaling`")
        if scaling.get("kind") == "divide":
            return Scaling("divide", float(scaling["divisor"]))
        if scaling.get("kind") == "per-image-min-max":
            return Scaling("per-image-min-max")
        raise FpaeError(f"state.json: unknown scaling {scaling!r}")


# ---------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------


def read_gray(path: str | Path) -> Tensor:
    """A print as 8-bit grey pixels ``uint8 [H, W]``, as fpae decodes it: 16-bit
    samples rounded to 8 bits, colour to its luminance, transparent pixels over
    white. PNGs are read here, other formats with Pillow."""
    path = Path(path)
    return decode_gray(path.read_bytes(), path)


def decode_gray(data: bytes, name: str | Path = "image") -> Tensor:
    """:func:`read_gray` of an image file's bytes (``name`` names it in errors)."""
    path = Path(name)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        channels, depth = _decode_png(data, path)
    else:
        channels, depth = _decode_with_pillow(path, data)
    gray = _to_gray8(channels, depth)
    if gray.numel() == 0:
        raise FpaeError(f"{path}: empty image")
    return gray


def _decode_png(data: bytes, path: Path) -> tuple[Tensor, int]:
    """Non-interlaced 8- and 16-bit grey, grey+alpha, RGB and RGBA PNGs as
    ``[H, W, C]`` int32 samples and their bit depth."""
    pos, idat, header = 8, [], None
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat.append(chunk)
        elif kind == b"IEND":
            break
    if header is None:
        raise FpaeError(f"{path}: a PNG without a header")
    width, height, depth, color, _, _, interlace = header
    channels = {0: 1, 4: 2, 2: 3, 6: 4}.get(color)
    if channels is None or depth not in (8, 16) or interlace:
        return _decode_with_pillow(path, data)
    pixel_bytes = channels * depth // 8
    stride = width * pixel_bytes
    raw = zlib.decompress(b"".join(idat))
    out = bytearray(height * stride)
    prior = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(pixel_bytes, stride):
                line[i] = (line[i] + line[i - pixel_bytes]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prior))
        elif kind == 3:
            for i in range(stride):
                left = line[i - pixel_bytes] if i >= pixel_bytes else 0
                line[i] = (line[i] + ((left + prior[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - pixel_bytes] if i >= pixel_bytes else 0
                b = prior[i]
                c = prior[i - pixel_bytes] if i >= pixel_bytes else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + predictor) & 0xFF
        elif kind != 0:
            raise FpaeError(f"{path}: corrupt PNG (filter type {kind})")
        out[y * stride : (y + 1) * stride] = line
        prior = line
    samples = torch.frombuffer(out, dtype=torch.uint8).to(torch.int32)
    if depth == 16:
        samples = samples[0::2] * 256 + samples[1::2]
    return samples.reshape(height, width, channels), depth


def _decode_with_pillow(path: Path, data: bytes) -> tuple[Tensor, int]:
    try:
        from PIL import Image
    except ImportError as e:
        raise FpaeError(
            f"{path}: reading this format needs Pillow (`pip install pillow`); without it, only PNGs are read"
        ) from e
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        mode = image.mode
        if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
            values = torch.tensor(list(image.getdata()), dtype=torch.int32)
            return values.reshape(image.height, image.width, 1).clamp(0, 65535), 16
        if mode == "P":
            image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        elif mode not in ("L", "LA", "RGB", "RGBA"):
            image = image.convert("L" if mode == "1" else "RGB")
        bands = len(image.getbands())
        raw = bytearray(image.tobytes())
        samples = torch.frombuffer(raw, dtype=torch.uint8).to(torch.int32)
        return samples.reshape(image.height, image.width, bands), 8


# The luminance row of the BT.709 (sRGB, D65) RGB-to-XYZ matrix, as the image
# crate derives it to turn colour into grey.
_LUMA = (0.2126390058715102, 0.715168678767756, 0.0721923153607337)


def _to_gray8(channels: Tensor, depth: int) -> Tensor:
    """8-bit grey pixels of ``[H, W, C]`` samples, with the image crate's arithmetic:
    grey samples are rounded from 16 to 8 bits in integers, colour goes through
    float32 luminance; transparent pixels are then composited over white."""
    c = channels.shape[2]
    if c in (1, 2):
        to8 = (lambda v: (v + 128) // 257) if depth == 16 else (lambda v: v)
        luma = to8(channels[..., 0])
        alpha = to8(channels[..., 1]) if c == 2 else None
    else:
        unit = torch.tensor(1.0, dtype=torch.float32) / torch.tensor(65535.0 if depth == 16 else 255.0)
        samples = channels.to(torch.float32) * unit
        coef = [torch.tensor(k, dtype=torch.float32) for k in _LUMA]
        lum = samples[..., 0] * coef[0]
        lum = lum + samples[..., 1] * coef[1]
        lum = lum + samples[..., 2] * coef[2]
        to8 = lambda v: torch.clamp(_round_tensor(v * 255.0), 0, 255).to(torch.int64)  # noqa: E731
        luma = to8(lum)
        alpha = to8(samples[..., 3]) if c == 4 else None
    if alpha is not None:
        luma = (luma * alpha + 255 * (255 - alpha) + 127) // 255
    return luma.to(torch.uint8).contiguous()


def write_png(path: str | Path, pixels: Tensor) -> None:
    """Writes 8-bit grey pixels ``[H, W]`` as a PNG."""
    h, w = pixels.shape
    rows = bytes(pixels.to(torch.uint8).flatten().tolist())
    raw = b"".join(b"\x00" + rows[y * w : (y + 1) * w] for y in range(h))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    write_atomically(path, png)


def write_npy(path: str | Path, values: Tensor) -> None:
    """Writes a float32 tensor as a NumPy ``.npy`` file (``numpy.load`` reads it)."""
    values = values.to(torch.float32).contiguous()
    dims = [str(d) for d in values.shape]
    shape = f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (-(len(header) + 11) % 64) + "\n"
    body = struct.pack(f"<{values.numel()}f", *values.flatten().tolist())
    write_atomically(path, b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + body)


# ---------------------------------------------------------------------------
# A model folder
# ---------------------------------------------------------------------------


class FpaeModel:
    """A model folder loaded for use: the network with its weights, and how fpae
    feeds it prints and turns its output back into pixels."""

    def __init__(self, network: nn.Module, input_size: tuple[int, int], preprocess: Preprocess, scaling: Scaling):
        self.network = network
        self.input_size = input_size
        self.preprocess = preprocess
        self.scaling = scaling

    @property
    def stride(self) -> int:
        """Heights and widths given to ``network`` must be multiples of this."""
        return self.network.stride

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def forward_any_size(self, x: Tensor) -> Tensor:
        """The network on ``[N, 1, H, W]`` float32 images in [0, 1] of any size: padded
        at the bottom and right, repeating edge pixels, to multiples of the stride,
        and the output cropped back."""
        h, w = x.shape[-2:]
        s = self.stride
        pad_h, pad_w = (s - h % s) % s, (s - w % s) % s
        if pad_h == 0 and pad_w == 0:
            return self.network(x)
        y = self.network(F.pad(x, (0, pad_w, 0, pad_h), mode="replicate"))
        return y[..., :h, :w].contiguous()

    @torch.no_grad()
    def outputs(self, pixels: Tensor) -> Tensor:
        """The network's float32 output ``[h, w]`` for a print's 8-bit pixels
        ``[H, W]``, at the model's resolution (the print's own with ``resize = "none"``)."""
        values = self.scaling.apply(self.preprocess.apply(pixels))
        x = values.reshape(1, 1, *values.shape).to(self.device)
        return self.forward_any_size(x)[0, 0].cpu()

    @torch.no_grad()
    def apply(self, pixels: Tensor, original_size: bool = True) -> Tensor:
        """What ``fpae restore`` writes for a print's 8-bit pixels ``[H, W]``:
        8-bit pixels at the print's size, or at the model's with ``original_size=False``
        (``fpae reconstruct`` without ``--original-size``)."""
        sized = self.preprocess.apply(pixels)
        out = self.scaling.invert(self.outputs(pixels), sized)
        if original_size:
            out = self.preprocess.restore_size(out, (pixels.shape[1], pixels.shape[0]))
        return out


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise FpaeError(f"cannot read {path}: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise FpaeError(f"{path}: {e}") from e


MODELS_VAR = "FPAE_MODELS"


def resolve(model: str | Path, models: str | Path | None = None) -> Path:
    """The folder of a model given as a path (a model folder or a run directory)
    or as the name of a ready-made model: ``NAME`` is looked up in ``models``,
    else in the folder the ``FPAE_MODELS`` variable names, else in ``models/``
    of the working directory. Each may be a folder of model folders or a
    repository root holding ``models/``."""
    given = Path(model)
    if given.exists() or len(given.parts) != 1:
        return given
    roots = [Path(r) for r in (models, os.environ.get(MODELS_VAR)) if r] + [Path("models")]
    for root in roots:
        for folder in (root / given, root / "models" / given):
            if (folder / MODEL_WEIGHTS_FILE).is_file():
                return folder
    looked = ", ".join(str(r) for r in roots)
    raise FpaeError(f"{model}: no such model folder or run directory, and no ready-made model of that name in {looked}")


def _model_files(model_dir: Path, checkpoint: str) -> tuple[Path, Path]:
    """(folder with the weights, folder with config.toml) of a model folder or run directory."""
    if (model_dir / MODEL_WEIGHTS_FILE).is_file():
        return model_dir, model_dir
    run_checkpoint = model_dir / "checkpoints" / checkpoint
    if (run_checkpoint / MODEL_WEIGHTS_FILE).is_file():
        return run_checkpoint, model_dir
    raise FpaeError(f"{model_dir}: no {MODEL_WEIGHTS_FILE} (expected a model folder from `fpae export` or a run)")


def load_network(model_dir: str | Path, checkpoint: str = "best") -> tuple[nn.Module, dict]:
    """The network of a model folder (or a run's checkpoint) with its weights, in
    eval mode, and its ``model.toml``. Every tensor of ``model.safetensors`` must
    be a parameter or buffer of the network, of its shape, and the other way round."""
    weights_dir, _ = _model_files(resolve(model_dir), checkpoint)
    description = _read_toml(weights_dir / MODEL_CONFIG_FILE)
    network = build_network(description.get("model", {}))
    size = description.get("input", {})
    height, width = size.get("height", 0), size.get("width", 0)
    if height <= 0 or width <= 0 or height % network.stride or width % network.stride:
        raise FpaeError(
            f"{weights_dir / MODEL_CONFIG_FILE}: input size {height}x{width} must be divisible by {network.stride}"
        )
    path = weights_dir / MODEL_WEIGHTS_FILE
    tensors = read_safetensors(path)
    expected = network.state_dict()
    for name in sorted(tensors):
        if name not in expected:
            raise FpaeError(f"{path}: unexpected tensor {name} (not a variable of this model)")
    for name in sorted(expected):
        if name not in tensors:
            raise FpaeError(f"{path}: missing tensor {name}")
        if tuple(tensors[name].shape) != tuple(expected[name].shape):
            raise FpaeError(
                f"{path}: tensor {name} has shape {list(tensors[name].shape)}, "
                f"the model expects {list(expected[name].shape)}"
            )
    network.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()}, strict=True)
    return network.eval(), description


def load(
    model: str | Path,
    checkpoint: str = "best",
    device: str | torch.device = "cpu",
    models: str | Path | None = None,
) -> FpaeModel:
    """A model folder written by ``fpae export`` (or a run directory's ``checkpoint``,
    or the name of a ready-made model, found as :func:`resolve` says), ready to
    apply to prints."""
    weights_dir, config_dir = _model_files(resolve(model, models), checkpoint)
    network, description = load_network(weights_dir)
    data = _read_toml(config_dir / RUN_CONFIG_FILE).get("data", {})
    defaults = Preprocess()
    preprocess = Preprocess(
        height=data.get("height", defaults.height),
        width=data.get("width", defaults.width),
        filter=data.get("filter", defaults.filter),
        resize=data.get("resize", defaults.resize),
    )
    try:
        state = json.loads((weights_dir / STATE_FILE).read_text())
    except (OSError, ValueError) as e:
        raise FpaeError(f"cannot read {weights_dir / STATE_FILE}: {e}") from e
    size = description["input"]
    return FpaeModel(network.to(device), (size["height"], size["width"]), preprocess, Scaling.from_state(state))
