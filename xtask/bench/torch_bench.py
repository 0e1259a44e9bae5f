"""The tutorial's autoencoder in PyTorch eager, timed the way `fpae bench` times ours.

Run by `cargo xtask bench train` with the Python of the LibTorch install, one
process per measurement so that each peak RSS is its own. Prints one JSON object.
"""
import argparse
import json
import resource
import time

import torch
from torch import nn


def autoencoder():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
        nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
        nn.Conv2d(128, 64, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2),
        nn.Conv2d(64, 1, 3, padding=1), nn.Sigmoid(),
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["train", "infer"], default="train")
    parser.add_argument("--precision", choices=["f32", "bf16cl"], default="f32")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()

    device = torch.device(args.device)
    torch.manual_seed(13)
    model = autoencoder().to(device)
    # Keras 2's RMSprop: rho 0.9, eps 1e-7 outside the square root, lr 1e-3.
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    bf16 = args.precision == "bf16cl"
    if bf16:
        model = model.to(memory_format=torch.channels_last)
    pool = 2 * args.batch
    images = torch.rand(pool, 1, args.size, args.size, device=device)
    if bf16:
        images = images.contiguous(memory_format=torch.channels_last)
    loss_fn = nn.MSELoss()
    times = []
    for step in range(args.warmup + max(args.steps, 1)):
        index = torch.randperm(pool, device=device)[: args.batch]
        started = time.perf_counter()
        xs = images.index_select(0, index)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=bf16):
            if args.mode == "train":
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(xs).float(), xs)
                loss.backward()
                optimizer.step()
                out = loss.detach()
            else:
                with torch.no_grad():
                    out = model(xs).float().mean()
        out.item()  # waits for the device
        if step >= args.warmup:
            times.append(time.perf_counter() - started)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({
        "mode": args.mode,
        "precision": args.precision,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "steps": len(times),
        "median_step_ms": median * 1e3,
        "images_per_sec": args.batch / median,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
