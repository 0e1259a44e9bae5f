#!/usr/bin/env python3
"""Restore a folder of scans with `fpae restore` under Ray Data.

Every image under SCANS is listed (sorted, relative to SCANS) and cut into
batches of --batch-size paths. Each batch is one Ray task that runs one
`fpae restore MODEL --manifest - --results LOG` with the batch's paths on
standard input and SCANS as its working directory, so each output lands at
`OUT/<relative path>.png` whatever batch it came in. A batch's log is named by
its contents: a rerun (or a retried task) finds the log of the same batch and
fpae skips every print that is already restored and unchanged.

The rows (input, output, sha256, ms, status, error: the last line of each
print's log, so how this run left it) go to --rows as JSON lines, and a
summary line goes to standard output. The exit status is 1 if any print ends
in `error`.

    python ray_restore.py /data/scans /data/restored /data/restore-logs \\
        --model /opt/fpae/models/restore-fvc2000-2002 --batch-size 2000 \\
        --cpus-per-task 4 --rows /data/restore-rows.jsonl

Without --address (or RAY_ADDRESS) Ray starts a local cluster on this machine;
`--address auto` joins the cluster this node belongs to. Tested by
crates/fp-cli/tests/scale.rs with Ray 2.60.0.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pandas as pd
import ray

# The image formats fpae reads.
EXTENSIONS = (".png", ".tif", ".tiff", ".bmp", ".jpg", ".jpeg")
# The columns of a row; a `skipped` row has no `ms`, an `error` row no `sha256`.
COLUMNS = ["input", "output", "sha256", "ms", "status", "error"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scans", help="folder of the prints to restore (searched recursively)")
    p.add_argument("out", help="folder of the restored prints: OUT/<path relative to SCANS>.png")
    p.add_argument("logs", help="folder of the batches' results logs, one JSON-lines file a batch")
    p.add_argument("--model", required=True, help="model folder every worker can read, or a ready-made model's name")
    p.add_argument("--batch-size", type=int, default=2000, help="prints a task (default 2000)")
    p.add_argument(
        "--cpus-per-task", type=int, default=4, help="cores Ray reserves for a task, and fpae's --threads (default 4)"
    )
    p.add_argument("--fpae", default="fpae", help="the fpae binary (default: fpae on PATH)")
    p.add_argument("--rows", help="write every print's row here as JSON lines")
    p.add_argument("--address", help="Ray cluster to join (default: RAY_ADDRESS, else a local cluster)")
    args = p.parse_args(argv)
    if args.batch_size < 1 or args.cpus_per_task < 1:
        p.error("--batch-size and --cpus-per-task must be at least 1")
    return args


def absolute_program(program):
    """The binary as an absolute path: the tasks run in SCANS, not here."""
    if os.sep in program:
        return os.path.abspath(program)
    found = shutil.which(program)
    if found is None:
        sys.exit(f"error: cannot find {program!r} on PATH; give --fpae PATH")
    return found


def list_scans(scans):
    """Every image under `scans`, relative to it, sorted so that batches are the same on every run."""
    return sorted(
        os.path.relpath(os.path.join(d, f), scans)
        for d, _, files in os.walk(scans)
        for f in files
        if f.lower().endswith(EXTENSIONS)
    )


def restorer(fpae, model, scans, out, logs, threads):
    """The task: one `fpae restore` for one batch of paths, returning its rows."""

    def restore(row):
        paths = list(row["paths"])
        # One log per batch, named by its contents: a retried or rerun batch finds its
        # own log, and fpae skips what it already restored.
        name = hashlib.sha256("\n".join(paths).encode()).hexdigest()[:16]
        log = os.path.join(logs, name + ".jsonl")
        done = subprocess.run(
            [fpae, "--threads", str(threads), "restore", model, "--manifest", "-", "--out", out, "--results", log],
            input="\n".join(paths) + "\n",
            text=True,
            cwd=scans,
            capture_output=True,
            # A failed print is a line with "status": "error", not a lost batch;
            # a run that wrote no log at all (a bad model, say) fails the task below.
            check=False,
        )
        if not os.path.exists(log):
            raise RuntimeError(f"fpae restore wrote no log for batch {name} (exit {done.returncode}):\n{done.stderr}")
        lines = pd.read_json(log, lines=True, dtype=False)
        # The last line of each input says how this run left it.
        last = lines.drop_duplicates("input", keep="last").set_index("input")
        last = last.reindex(index=paths, columns=COLUMNS[1:]).reset_index()
        rows = last.astype(object).where(last.notna(), None).to_dict("records")
        for row in rows:
            # A print the log does not name (fpae stopped midway) is an error of this run.
            if row["status"] is None:
                row.update(status="error", error=f"no line in {log}")
        return rows

    return restore


def main(argv=None):
    args = parse_args(argv)
    scans = os.path.abspath(args.scans)
    out = os.path.abspath(args.out)
    logs = os.path.abspath(args.logs)
    # A model given as a path must survive the change of working directory; a name
    # is left for fpae to find among its ready-made models.
    model = os.path.abspath(args.model) if os.path.exists(args.model) else args.model
    fpae = absolute_program(args.fpae)
    os.makedirs(out, exist_ok=True)
    os.makedirs(logs, exist_ok=True)

    paths = list_scans(scans)
    if not paths:
        sys.exit(f"error: {scans} holds no images ({', '.join(EXTENSIONS)})")
    batches = [paths[i : i + args.batch_size] for i in range(0, len(paths), args.batch_size)]

    ray.init(address=args.address, log_to_driver=False)
    # One row (and one block, hence one task) a batch, so that a batch is the same
    # list of paths on every run, however Ray would have split the rows.
    rows = ray.data.from_items([{"paths": b} for b in batches], override_num_blocks=len(batches)).flat_map(
        restorer(fpae, model, scans, out, logs, args.cpus_per_task), num_cpus=args.cpus_per_task
    )

    counts = {"ok": 0, "skipped": 0, "error": 0}
    sink = None
    if args.rows:
        tmp = args.rows + ".tmp"
        sink = open(tmp, "w", encoding="utf-8")
    try:
        for row in rows.iter_rows():
            row = {c: row.get(c) for c in COLUMNS}
            counts[row["status"] if row["status"] in counts else "error"] += 1
            if sink:
                sink.write(json.dumps(row) + "\n")
    finally:
        if sink:
            sink.close()
    if args.rows:
        os.replace(tmp, args.rows)
    print(json.dumps({"prints": len(paths), "batches": len(batches), **counts}))
    return 1 if counts["error"] else 0


if __name__ == "__main__":
    sys.exit(main())
