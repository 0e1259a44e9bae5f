"""Reads fpae's ISO/IEC 19794-2:2005 records with the ISO reader of the afis
1.2.7 package (PyPI; `afis/algorithms/templates.py`, loaded alone since it
needs only numpy) and compares what it reads with fpae's JSON output of the
same prints: image size, and each minutia's position, type, angle (within one
degree of fpae's xyt direction turned by 180 degrees) and quality byte (afis
scales it by 1/255).

Usage: python afis_check.py AFIS_TEMPLATES_PY DIR STEM...
Exits with 1 on any difference.
"""

import importlib.util
import json
import math
import sys

path, folder, stems = sys.argv[1], sys.argv[2], sys.argv[3:]
spec = importlib.util.spec_from_file_location("afis_templates", path)
afis = importlib.util.module_from_spec(spec)
sys.modules["afis_templates"] = afis
spec.loader.exec_module(afis)

agree = total = 0
for stem in stems:
    with open(f"{folder}/{stem}.ist", "rb") as f:
        header, rows = afis.decode_iso19794_2(f.read())
    with open(f"{folder}/{stem}.json") as f:
        ours = json.load(f)
    same_size = (header.width, header.height) == (ours["width"], ours["height"])
    if not same_size or len(rows) != len(ours["minutiae"]):
        print(f"{stem}: afis reads {header} with {len(rows)} minutiae")
        total += len(ours["minutiae"])
        continue
    for (x, y, theta, kind, quality), m in zip(rows, ours["minutiae"]):
        total += 1
        turned = (m["angle"] + 180) % 360
        d = abs(math.degrees(theta) - turned) % 360
        if (
            (int(x), int(y)) == (m["x"], m["y"])
            and min(d, 360 - d) <= 1.0
            and {0: "ending", 1: "bifurcation"}[int(kind)] == m["kind"]
            and round(quality * 255) == m["quality"]
        ):
            agree += 1
        else:
            print(f"{stem}: afis reads {(x, y, math.degrees(theta), kind, quality * 255)}, fpae wrote {m}")
print(f"afis: {agree} of {total} minutiae agree (position, type, angle within 1 degree, quality)")
sys.exit(0 if agree == total else 1)
