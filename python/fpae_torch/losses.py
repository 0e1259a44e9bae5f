"""fpae's training losses (crates/fp-train/src/loss.rs) in PyTorch, with the
same formulas, windows, constants and weights."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .model import FpaeError

# The weight of the ridge-orientation term in `ssim+l1+orientation`.
ORIENTATION_WEIGHT = 0.25
# Standard deviation in pixels of the structure tensor's window.
ORIENTATION_SIGMA = 4.0
# Side of the SSIM window.
WINDOW = 11


def gaussian_window(side: int, sigma: float, device) -> Tensor:
    """``[1, 1, side, side]``: the normalised outer product of a sampled Gaussian
    (computed in f64, stored as f32, as fp-train does)."""
    half = (side - 1) / 2.0
    g = torch.tensor([math.exp(-((i - half) ** 2) / (2.0 * sigma * sigma)) for i in range(side)], dtype=torch.float32)
    g = g / g.sum()
    return torch.outer(g, g).view(1, 1, side, side).to(device)


def mean_ssim(x: Tensor, y: Tensor) -> Tensor:
    """Mean SSIM (data range 1, Gaussian window 11 / sigma 1.5) over the valid positions."""
    side = min(WINDOW, x.shape[2], x.shape[3])
    window = gaussian_window(side, 1.5, x.device)

    def filt(t: Tensor) -> Tensor:
        return F.conv2d(t, window)

    c1, c2 = 0.01**2, 0.03**2
    mx, my = filt(x), filt(y)
    mx2, my2, mxy = mx * mx, my * my, mx * my
    vx = filt(x * x) - mx2
    vy = filt(y * y) - my2
    cov = filt(x * y) - mxy
    num = (mxy * 2.0 + c1) * (cov * 2.0 + c2)
    den = (mx2 + my2 + c1) * (vx + vy + c2)
    return (num / den).mean()


def ssim_l1(output: Tensor, target: Tensor) -> Tensor:
    """``0.84 (1 - SSIM) + 0.16 L1``."""
    return (1.0 - mean_ssim(output, target)) * 0.84 + F.l1_loss(output, target) * 0.16


def orientation_field(x: Tensor) -> Tensor:
    """``[N, 2, H', W']``: the coherence-scaled doubled-angle orientation of ``x``."""
    sobel_x = torch.tensor([-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0], device=x.device).view(1, 1, 3, 3)
    sobel_y = sobel_x.transpose(2, 3).contiguous()
    gx, gy = F.conv2d(x, sobel_x), F.conv2d(x, sobel_y)
    side = min(2 * math.ceil(2.0 * ORIENTATION_SIGMA) + 1, gx.shape[2], gx.shape[3])
    window = gaussian_window(side, ORIENTATION_SIGMA, x.device)
    jxx, jyy, jxy = F.conv2d(gx * gx, window), F.conv2d(gy * gy, window), F.conv2d(gx * gy, window)
    energy = jxx + jyy + 1e-3
    return torch.cat([(jxx - jyy) / energy, jxy * 2.0 / energy], 1)


def orientation_loss(output: Tensor, target: Tensor) -> Tensor:
    """Mean squared distance between the orientation fields of output and target."""
    return (orientation_field(output) - orientation_field(target)).square().sum(1).mean()


LOSSES = {
    "mse": F.mse_loss,
    "l1": F.l1_loss,
    "ssim+l1": ssim_l1,
    "ssim+l1+orientation": lambda o, t: ssim_l1(o, t) + orientation_loss(o, t) * ORIENTATION_WEIGHT,
}


def loss_function(name: str):
    """The loss ``train.loss`` names: a function of ``(output, target)`` ``[N, 1, H, W]``."""
    if name not in LOSSES:
        raise FpaeError(f"train.loss: unknown variant `{name}`, expected one of {', '.join(f'`{k}`' for k in LOSSES)}")
    return LOSSES[name]
