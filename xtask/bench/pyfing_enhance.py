"""Enhances fingerprint images with pyfing's classical pipeline, the baseline of `cargo xtask bench restore`.

    pyfing_enhance.py IN OUT [--workers N] [--force] [--limit N] [--dataset NAME]

Every image under IN (searched recursively, following symbolic links, skipping
hidden names: .png, .tif, .tiff, .bmp, .jpg, .jpeg) goes through pyfing's GMFS
segmentation, GBFOE orientation estimation, XSFFE frequency estimation and
GBFEN Gabor enhancement, called as pyfing's own enhancement example calls them,
with their default parameters. GBFEN draws ridges white on black; the result is
inverted so that ridges are dark on a light background like the inputs,
everything outside the segmentation mask is background (255), and it is
written as an 8-bit grayscale PNG under OUT at the input's relative path
(IN/noise/0.6/DB1_B/101_1.tif -> OUT/noise/0.6/DB1_B/101_1.png).

The FVC databases are recognised by a folder named DB1_B ... DB4_B (or _A) in
an image's path. Each gets the GMFS parameters pyfing's authors tuned for it
(parameters/segmentation/fvc<year>_db<n>_b_Gmfs_params.json in the pyfing
repository) and its resolution: XSFFE works at 500 ppi only, so a print of
another resolution (FVC2002 DB2, 569 ppi) is resized to 500 ppi, enhanced and
resized back, as GMFS and GBFEN do themselves when told an image's resolution.
Prints outside such a folder, or with --dataset generic, get pyfing's defaults
at 500 ppi.

Finished outputs are skipped unless --force; outputs are written atomically.
An image that cannot be read or enhanced is reported on stderr as
`error: PATH: reason` and the script exits 1 after the others are done. The
last line on stdout is one JSON object:
{"images", "seconds", "per_image_s", "workers", "pyfing", "failed", ...}.

pyfing imports Keras, which runs here on its torch backend.
"""

import os

# Before numpy, OpenCV, torch or Keras load: one thread per worker process.
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("KERAS_BACKEND", "torch")

import argparse
import json
import multiprocessing
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import cv2 as cv
import numpy as np
import pyfing as pf

EXTENSIONS = {".png", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg"}

# GMFS parameters tuned by pyfing's authors on the FVC "B" sets, with each
# database's resolution in ppi (GmfsParameters field order: sigma, percentile,
# threshold, closing_count, opening_count).
GMFS = {
    ("fvc2002", 1): ((11 / 3, 95, 0.03, 4, 6), 500),
    ("fvc2002", 2): ((11 / 3, 95, 0.13, 8, 12), 569),
    ("fvc2002", 3): ((15 / 3, 95, 0.25, 4, 9), 500),
    ("fvc2002", 4): ((25 / 3, 95, 0.08, 2, 12), 500),
    ("fvc2000", 1): ((7 / 3, 95, 0.18, 3, 12), 500),
    ("fvc2000", 2): ((11 / 3, 95, 0.16, 6, 9), 500),
    ("fvc2000", 3): ((13 / 3, 95, 0.22, 6, 6), 500),
    ("fvc2000", 4): ((19 / 3, 95, 0.07, 2, 6), 500),
}
DATASETS = ("fvc2002", "fvc2000", "generic")
DB_FOLDER = re.compile(r"^db([1-4])_[ab]$", re.IGNORECASE)

_pipelines = {}  # per worker process: (dataset, db) -> (Gmfs, Gbfoe, Xsffe, Gbfen, ppi)


def database_of(path, dataset):
    """The FVC database number of the last DBn_B folder in path, or None."""
    if dataset == "generic":
        return None
    for part in reversed(Path(path).parent.parts):
        m = DB_FOLDER.match(part)
        if m:
            return int(m.group(1))
    return None


def pipeline(dataset, db):
    key = (dataset, db)
    if key not in _pipelines:
        tuned = GMFS.get(key)
        if tuned is None:
            gmfs, ppi = pf.Gmfs(), 500
        else:
            (sigma, percentile, threshold, closing, opening), ppi = tuned
            # The image reaches GMFS already at 500 ppi (see enhance).
            gmfs = pf.Gmfs(pf.GmfsParameters(sigma, percentile, threshold, closing, opening, 500))
        _pipelines[key] = (gmfs, pf.Gbfoe(), pf.Xsffe(), pf.Gbfen(), ppi)
    return _pipelines[key]


def enhance(image, dataset, db):
    """The enhanced print (ridges dark, background 255) and the fraction of it that is foreground."""
    gmfs, gbfoe, xsffe, gbfen, ppi = pipeline(dataset, db)
    h, w = image.shape
    work = image
    if ppi != 500:
        f = 500 / ppi
        work = cv.resize(image, None, fx=f, fy=f, interpolation=cv.INTER_CUBIC)
    mask = gmfs.run(work)
    if not mask.any():
        # No fingerprint found: all background.
        return np.full_like(image, 255), 0.0
    orientations, _ = gbfoe.run(work, mask)
    periods = xsffe.run(work, mask, orientations)
    enhanced = gbfen.run(work, mask, orientations, periods)
    if ppi != 500:
        enhanced = cv.resize(enhanced, (w, h), interpolation=cv.INTER_CUBIC)
        mask = cv.resize(mask, (w, h), interpolation=cv.INTER_NEAREST)
    out = 255 - enhanced
    out[mask == 0] = 255
    return out, float(np.count_nonzero(mask)) / mask.size


def write_png_atomically(path, image):
    ok, data = cv.imencode(".png", image)
    if not ok:
        raise RuntimeError("PNG encoding failed")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def init_worker():
    cv.setNumThreads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except Exception:
        pass


def work(job):
    """Enhances one image; returns (input, seconds, foreground fraction or None, error or None)."""
    src, dst, dataset = job
    started = time.perf_counter()
    try:
        image = cv.imread(src, cv.IMREAD_GRAYSCALE)
        if image is None:
            raise ValueError("cannot read it as an image")
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # NaNs from a degenerate mask: fail loudly
            out, foreground = enhance(image, dataset, database_of(src, dataset))
        write_png_atomically(Path(dst), out)
        return src, time.perf_counter() - started, foreground, None
    except Exception as e:  # reported per image; the others go on
        return src, time.perf_counter() - started, None, f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


def find_inputs(root):
    if root.is_file():
        return [(root, Path(root.stem + ".png"))]
    found = []
    # Like fpae: symbolic links are followed, hidden files and folders skipped.
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.suffix.lower() in EXTENSIONS and not name.startswith("."):
                found.append((p, p.relative_to(root).with_suffix(".png")))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", type=Path, metavar="IN", help="folder of images (searched recursively), or one image")
    ap.add_argument("output", type=Path, metavar="OUT", help="output folder; mirrors IN's relative paths")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes (default: all cores)")
    ap.add_argument("--force", action="store_true", help="redo outputs that already exist")
    ap.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N images (in path order)")
    ap.add_argument(
        "--dataset", choices=DATASETS, default="fvc2002", help="whose per-database parameters DBn_B folders get"
    )
    args = ap.parse_args()
    if args.workers < 1:
        ap.error("--workers must be at least 1")
    if not args.input.exists():
        ap.error(f"{args.input} does not exist")

    inputs = find_inputs(args.input)
    if args.limit is not None:
        inputs = inputs[: args.limit]
    jobs = []
    for src, rel in inputs:
        dst = args.output / rel
        if args.force or not dst.exists():
            jobs.append((str(src), str(dst), args.dataset))
    skipped = len(inputs) - len(jobs)
    workers = max(1, min(args.workers, len(jobs)))

    started = time.perf_counter()
    failed, foregrounds, busy = 0, [], 0.0
    if jobs:
        step = len(jobs) // 10 if len(jobs) >= 50 else len(jobs)
        if workers == 1:
            init_worker()
            results = map(work, jobs)
            pool = None
        else:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
            pool = ctx.Pool(workers, initializer=init_worker)
            results = pool.imap_unordered(work, jobs, chunksize=4 if len(jobs) >= 64 * workers else 1)
        try:
            for done, (src, seconds, foreground, error) in enumerate(results, 1):
                busy += seconds
                if error is None:
                    foregrounds.append(foreground)
                else:
                    failed += 1
                    print(f"error: {src}: {error}", file=sys.stderr, flush=True)
                if done % step == 0 and done < len(jobs):
                    print(f"pyfing: {done}/{len(jobs)} images", file=sys.stderr, flush=True)
        finally:
            if pool is not None:
                pool.close()
                pool.join()
    seconds = time.perf_counter() - started

    n = len(jobs)
    report = {
        "images": n,
        "seconds": round(seconds, 3),
        "per_image_s": round(seconds / n, 5) if n else None,
        "busy_per_image_s": round(busy / n, 5) if n else None,
        "workers": workers if jobs else 0,
        "pyfing": pf.__version__,
        "failed": failed,
        "skipped": skipped,
        "empty_masks": sum(1 for f in foregrounds if f == 0.0),
        "mean_foreground": round(float(np.mean(foregrounds)), 4) if foregrounds else None,
        "dataset": args.dataset,
    }
    print(json.dumps(report), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
