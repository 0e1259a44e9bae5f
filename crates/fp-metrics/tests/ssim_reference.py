"""Reference SSIM values for tests/ssim_reference.rs, from scikit-image.

    python3 -m venv venv && venv/bin/pip install scikit-image numpy
    venv/bin/python tests/ssim_reference.py

The images are built from integer and trigonometric formulas that the Rust
test evaluates identically.
"""
import math

import numpy as np
from skimage.metrics import structural_similarity


def ridges(w, h, period, angle, dx=0.0):
    img = np.zeros((h, w), dtype=np.float32)
    c, s = math.cos(angle), math.sin(angle)
    for y in range(h):
        for x in range(w):
            img[y, x] = 0.5 + 0.4 * math.sin(2.0 * math.pi * ((x + dx) * c + y * s) / period)
    return img


def hash_noise(w, h, amplitude):
    img = np.zeros((h, w), dtype=np.float32)
    for y in range(h):
        for x in range(w):
            v = ((x * 73856093) ^ (y * 19349663)) % 1009
            img[y, x] = amplitude * (v / 1008.0 - 0.5)
    return img


def ssim(a, b):
    return structural_similarity(
        a.astype(np.float64), b.astype(np.float64),
        gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0,
    )


a = ridges(40, 32, 8.0, 0.3)
cases = {
    "identical": (a, a),
    "shift_1px": (a, ridges(40, 32, 8.0, 0.3, dx=1.0)),
    "shift_2px": (a, ridges(40, 32, 8.0, 0.3, dx=2.0)),
    "noise_0.2": (a, np.clip(a + hash_noise(40, 32, 0.2), 0, 1).astype(np.float32)),
    "noise_0.6": (a, np.clip(a + hash_noise(40, 32, 0.6), 0, 1).astype(np.float32)),
    "contrast_half": (a, (0.5 * a + 0.25).astype(np.float32)),
    "inverted": (a, (1.0 - a).astype(np.float32)),
    "constants": (np.full((23, 37), 0.2, np.float32), np.full((23, 37), 0.6, np.float32)),
    "other_pattern_37x23": (ridges(37, 23, 8.0, 0.3), ridges(37, 23, 5.0, 1.2)),
}
for name, (x, y) in cases.items():
    print(f"{name} {ssim(x, y):.6f}")
