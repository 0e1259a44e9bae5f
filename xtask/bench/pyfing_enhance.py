"""Enhances fingerprint images with one of pyfing's two pipelines, the baselines of `cargo xtask bench restore`.

    pyfing_enhance.py IN OUT [--pipeline gabor|snfen] [--workers N] [--force] [--limit N]
                      [--dataset NAME] [--verify N]

Every image under IN (searched recursively, following symbolic links, skipping
hidden names: .png, .tif, .tiff, .bmp, .jpg, .jpeg) goes through one pipeline,
each stage called as pyfing's own examples call it, with its default parameters:

- gabor (the default), the classical one: GMFS segmentation, GBFOE orientation
  estimation, XSFFE frequency estimation and GBFEN Gabor enhancement;
- snfen, the learned one: SUFS segmentation, SNFOE orientations, SNFFE
  frequencies and SNFEN enhancement, with the weights shipped in the wheel.

Both draw ridges white on black; the result is inverted so that ridges are dark
on a light background like the inputs, everything outside the segmentation
mask is background (255), and it is written as an 8-bit grayscale PNG under OUT
at the input's relative path (IN/noise/0.6/DB1_B/101_1.tif ->
OUT/noise/0.6/DB1_B/101_1.png).

The FVC databases are recognised by a folder named DB1_B ... DB4_B (or _A) in
an image's path. Each gets its resolution and, in the gabor pipeline, the GMFS
parameters pyfing's authors tuned for it
(parameters/segmentation/fvc<year>_db<n>_b_Gmfs_params.json in the pyfing
repository). A print of another resolution than 500 ppi (FVC2002 DB2, 569 ppi)
is resized to 500 ppi, enhanced and resized back, in both pipelines: XSFFE works
at 500 ppi only, and SNFEN's own resolution handling in 0.7.3 resizes the
ridge-period map to the wrong size. Prints outside such a folder, or with
--dataset generic, get pyfing's defaults at 500 ppi.

--verify N also runs the first N images through pyfing's simple API
(fingerprint_segmentation, orientation_field_estimation, frequency_estimation,
fingerprint_enhancement, with the pipeline's methods) and reports the largest
pixel difference from this script's output ("verify" in the JSON line): 0 means
the script adds nothing to pyfing's own calls but the inversion and the mask.

Finished outputs are skipped unless --force; outputs are written atomically.
An image that cannot be read or enhanced is reported on stderr as
`error: PATH: reason` and the script exits 1 after the others are done. The
last line on stdout is one JSON object:
{"images", "seconds", "per_image_s", "workers", "pyfing", "pipeline", "failed", ...}.

pyfing imports Keras; its backend is KERAS_BACKEND (default: tensorflow, which
runs SNFEN faster than the torch backend; docs/restoration.md has the numbers). Each worker
process runs one thread. pyfing, Keras and OpenCV are imported only inside the
worker processes, so that the parts of this file without them (path mapping,
database recognition, inversion and masking, pipeline choice) can be tested
with numpy alone: see test_pyfing_enhance.py.
"""

import os

# Before numpy, OpenCV, TensorFlow, torch or Keras load: one thread per worker process.
for _var in (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
):
    os.environ[_var] = "1"
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse
import json
import multiprocessing
import re
import sys
import tempfile
import time
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

EXTENSIONS = {".png", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg"}

# The stages of each pipeline, in order, by pyfing's names.
PIPELINES = {
    "gabor": ("GMFS", "GBFOE", "XSFFE", "GBFEN"),
    "snfen": ("SUFS", "SNFOE", "SNFFE", "SNFEN"),
}

# GMFS parameters tuned by pyfing's authors on the FVC "B" sets (GmfsParameters
# field order: sigma, percentile, threshold, closing_count, opening_count).
GMFS = {
    ("fvc2002", 1): (11 / 3, 95, 0.03, 4, 6),
    ("fvc2002", 2): (11 / 3, 95, 0.13, 8, 12),
    ("fvc2002", 3): (15 / 3, 95, 0.25, 4, 9),
    ("fvc2002", 4): (25 / 3, 95, 0.08, 2, 12),
    ("fvc2000", 1): (7 / 3, 95, 0.18, 3, 12),
    ("fvc2000", 2): (11 / 3, 95, 0.16, 6, 9),
    ("fvc2000", 3): (13 / 3, 95, 0.22, 6, 6),
    ("fvc2000", 4): (19 / 3, 95, 0.07, 2, 6),
}
# Each database's resolution in ppi, where it is not 500.
PPI = {("fvc2002", 2): 569}
DATASETS = ("fvc2002", "fvc2000", "generic")
DB_FOLDER = re.compile(r"^db([1-4])_[ab]$", re.IGNORECASE)

_pipelines = {}  # per worker process: (pipeline, dataset, db) -> (stages, ppi)


def database_of(path, dataset):
    """The FVC database number of the last DBn_B folder in path, or None."""
    if dataset == "generic":
        return None
    for part in reversed(Path(path).parent.parts):
        m = DB_FOLDER.match(part)
        if m:
            return int(m.group(1))
    return None


def resolution_of(dataset, db):
    """The resolution in ppi of a print of database db (None: not an FVC database) of dataset."""
    return PPI.get((dataset, db), 500)


def stages_of(name):
    """The stage names of a pipeline, failing clearly for an unknown one."""
    try:
        return PIPELINES[name]
    except KeyError:
        raise ValueError(f"unknown pipeline {name!r} (expected one of {', '.join(PIPELINES)})") from None


def to_dark_ridges(enhanced, mask):
    """pyfing's enhancement (ridges white) as a print: ridges dark, and 255 outside the mask."""
    if enhanced.shape != mask.shape:
        raise ValueError(f"the enhancement is {enhanced.shape} but the mask {mask.shape}")
    out = 255 - enhanced.astype(np.uint8)
    out[mask == 0] = 255
    return out


def output_relative(relative):
    """The output path, relative to OUT, of an input at `relative` under IN: the same with .png."""
    return Path(relative).with_suffix(".png")


def find_inputs(root):
    """(input path, output path relative to OUT) of every image under root, in path order."""
    if root.is_file():
        return [(root, output_relative(root.name))]
    found = []
    # Like fpae: symbolic links are followed, hidden files and folders skipped.
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.suffix.lower() in EXTENSIONS and not name.startswith("."):
                found.append((p, output_relative(p.relative_to(root))))
    return found


def pipeline(name, dataset, db):
    """The pyfing stage objects of a pipeline for one database, made once per worker."""
    key = (name, dataset, db)
    if key not in _pipelines:
        import pyfing as pf

        ppi = resolution_of(dataset, db)
        if name == "gabor":
            tuned = GMFS.get((dataset, db))
            # The image reaches GMFS already at 500 ppi (see enhance).
            gmfs = pf.Gmfs() if tuned is None else pf.Gmfs(pf.GmfsParameters(*tuned, 500))
            stages = (gmfs, pf.Gbfoe(), pf.Xsffe(), pf.Gbfen())
        else:
            stages = (pf.Sufs(), pf.Snfoe(), pf.Snffe(), pf.Snfen())
        _pipelines[key] = (stages, ppi)
    return _pipelines[key]


def run_stages(name, stages, work):
    """The enhancement (ridges white) and mask of a 500 ppi image by the pipeline's stages."""
    segmentation, orientation, frequency, enhancement = stages
    mask = segmentation.run(work)
    if not mask.any():
        return None, mask
    if name == "gabor":
        orientations, _ = orientation.run(work, mask)
        periods = frequency.run(work, mask, orientations)
        enhanced = enhancement.run(work, mask, orientations, periods)
    else:
        orientations, _ = orientation.run(work, mask, 500)
        periods = frequency.run(work, mask, orientations, 500)
        enhanced = enhancement.run(work, mask, orientations, periods, 500)
    return enhanced, mask


def enhance(image, name, dataset, db):
    """The enhanced print (ridges dark, background 255) and the fraction of it that is foreground."""
    import cv2 as cv

    stages, ppi = pipeline(name, dataset, db)
    h, w = image.shape
    work = image
    if ppi != 500:
        f = 500 / ppi
        work = cv.resize(image, None, fx=f, fy=f, interpolation=cv.INTER_CUBIC)
    enhanced, mask = run_stages(name, stages, work)
    if enhanced is None:
        # No fingerprint found: all background.
        return np.full_like(image, 255), 0.0
    if ppi != 500:
        enhanced = cv.resize(enhanced, (w, h), interpolation=cv.INTER_CUBIC)
        mask = cv.resize(mask, (w, h), interpolation=cv.INTER_NEAREST)
    return to_dark_ridges(enhanced, mask), float(np.count_nonzero(mask)) / mask.size


def enhance_by_simple_api(image, name):
    """A 500 ppi image enhanced through pyfing's simple API, inverted and masked the same way."""
    import pyfing as pf

    segmentation, orientation, frequency, enhancement = stages_of(name)
    if name == "gabor":
        segmentation = "GMFS"
    mask = pf.fingerprint_segmentation(image, 500, segmentation)
    orientations = pf.orientation_field_estimation(image, mask, 500, orientation)
    periods = pf.frequency_estimation(image, orientations, mask, 500, frequency)
    enhanced = pf.fingerprint_enhancement(image, orientations, periods, mask, 500, enhancement)
    return to_dark_ridges(enhanced, mask)


def write_png_atomically(path, image):
    import cv2 as cv

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
    import cv2 as cv

    cv.setNumThreads(1)
    backend = os.environ.get("KERAS_BACKEND")
    if backend == "torch":
        import torch

        torch.set_num_threads(1)
        # Keras's outputs are read with .numpy(), which needs gradients off.
        torch.set_grad_enabled(False)
    elif backend == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def work(job):
    """Enhances one image; returns (input, seconds, foreground fraction or None, error or None, verify difference)."""
    import cv2 as cv

    src, dst, name, dataset, verify = job
    started = time.perf_counter()
    try:
        image = cv.imread(src, cv.IMREAD_GRAYSCALE)
        if image is None:
            raise ValueError("cannot read it as an image")
        db = database_of(src, dataset)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # NaNs from a degenerate mask: fail loudly
            out, foreground = enhance(image, name, dataset, db)
        write_png_atomically(Path(dst), out)
        seconds = time.perf_counter() - started
        difference = None
        if verify:
            if resolution_of(dataset, db) != 500 or (name == "gabor" and (dataset, db) in GMFS):
                raise ValueError("--verify needs 500 ppi prints with pyfing's default parameters (--dataset generic)")
            reference = enhance_by_simple_api(image, name)
            difference = int(np.abs(reference.astype(np.int16) - out.astype(np.int16)).max())
        return src, seconds, foreground, None, difference
    except Exception as e:  # reported per image; the others go on
        error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        return src, time.perf_counter() - started, None, error, None


def installed_version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", type=Path, metavar="IN", help="folder of images (searched recursively), or one image")
    ap.add_argument("output", type=Path, metavar="OUT", help="output folder; mirrors IN's relative paths")
    ap.add_argument("--pipeline", choices=tuple(PIPELINES), default="gabor", help="which of pyfing's pipelines")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes (default: all cores)")
    ap.add_argument("--force", action="store_true", help="redo outputs that already exist")
    ap.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N images (in path order)")
    ap.add_argument(
        "--dataset", choices=DATASETS, default="fvc2002", help="whose per-database parameters DBn_B folders get"
    )
    ap.add_argument(
        "--verify",
        type=int,
        default=0,
        metavar="N",
        help="compare the first N outputs with pyfing's simple API (500 ppi prints, --dataset generic)",
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
            jobs.append((str(src), str(dst), args.pipeline, args.dataset, len(jobs) < args.verify))
    skipped = len(inputs) - len(jobs)
    workers = max(1, min(args.workers, len(jobs)))

    started = time.perf_counter()
    failed, foregrounds, busy, differences = 0, [], 0.0, []
    if jobs:
        step = len(jobs) // 10 if len(jobs) >= 50 else len(jobs)
        if workers == 1:
            init_worker()
            results = map(work, jobs)
            pool = None
        else:
            # pyfing and Keras are imported in the workers only, after the fork.
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
            pool = ctx.Pool(workers, initializer=init_worker)
            results = pool.imap_unordered(work, jobs, chunksize=4 if len(jobs) >= 64 * workers else 1)
        try:
            for done, (src, seconds, foreground, error, difference) in enumerate(results, 1):
                busy += seconds
                if error is None:
                    foregrounds.append(foreground)
                    if difference is not None:
                        differences.append(difference)
                else:
                    failed += 1
                    print(f"error: {src}: {error}", file=sys.stderr, flush=True)
                if done % step == 0 and done < len(jobs):
                    print(f"pyfing {args.pipeline}: {done}/{len(jobs)} images", file=sys.stderr, flush=True)
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
        "pyfing": installed_version("pyfing"),
        "pipeline": args.pipeline,
        "stages": list(stages_of(args.pipeline)),
        "keras": installed_version("keras"),
        "keras_backend": os.environ.get("KERAS_BACKEND"),
        "failed": failed,
        "skipped": skipped,
        "empty_masks": sum(1 for f in foregrounds if f == 0.0),
        "mean_foreground": round(float(np.mean(foregrounds)), 4) if foregrounds else None,
        "dataset": args.dataset,
    }
    if args.verify:
        report["verify"] = {"images": len(differences), "max_difference": max(differences, default=None)}
    print(json.dumps(report), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
