#!/usr/bin/env python3
"""Writes Fixtures/lists/: small hash lists about the fixture images, in the formats hashdb
build reads, derived from Fixtures/expected.tsv (run by Fixtures/generate). Deterministic.

  hotline.csv     the JPEG fixtures: ids, sha256, md5, pdq, quality, category, added
  police.jsonl    overlaps hotline by MD5 (rows merge), adds PNGs by SHA-256, and one
                  PDQ-only row (for the lossy WebP)
  malformed.csv   one good row among rows that must be rejected, each for its own reason
"""
import csv, json, os, sys

here = os.path.dirname(os.path.abspath(__file__))
rows = {r["path"]: r for r in csv.DictReader(open(os.path.join(here, "expected.tsv")), delimiter="\t")}
os.makedirs(os.path.join(here, "lists"), exist_ok=True)

hotline = ["images/jpeg/baseline.jpg", "images/jpeg/progressive.jpg", "images/jpeg/grayscale.jpg",
           "images/jpeg/cmyk.jpg", "images/jpeg/quality-10.jpg"]
with open(os.path.join(here, "lists/hotline.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["id", "sha256", "md5", "pdq", "quality", "category", "added", "note"])
    for i, path in enumerate(hotline):
        r = rows[path]
        w.writerow([f"NL-{i + 1:04d}", r["sha256"], r["md5"].upper(), r["pdq"], r["quality"],
                    "A1" if i < 3 else "B2", f"2024-0{i + 1}-15", "columns hashdb does not know are ignored"])

with open(os.path.join(here, "lists/police.jsonl"), "w") as f:
    base = rows["images/jpeg/baseline.jpg"]
    f.write(json.dumps({"id": "POL-7", "md5": base["md5"], "sha1": base["sha1"], "category": ["A1", "police-reviewed"],
                        "source": "police", "added": "2023-11-02T08:00:00Z"}) + "\n")
    for i, path in enumerate(["images/png/rgb8.png", "images/png/gray8.png", "images/png/palette8.png"]):
        f.write(json.dumps({"id": f"POL-{100 + i}", "sha256": rows[path]["sha256"], "category": "B2", "source": "police"}) + "\n")
    lossy = rows["images/webp/lossy.webp"]
    f.write(json.dumps({"id": "TE-1", "pdq": lossy["pdq"], "quality": int(lossy["quality"]), "category": "A1",
                        "source": "threatexchange"}) + "\n")

with open(os.path.join(here, "lists/malformed.csv"), "w", newline="") as f:
    good = rows["images/png/rgba8.png"]
    f.write("id,sha256,quality,added\n")
    f.write(f"OK-1,{good['sha256']},100,2024-01-01\n")      # line 2: accepted
    f.write("BAD-1,not-hex-at-all,100,2024-01-01\n")         # line 3: bad sha256
    f.write("BAD-2,,100,2024-01-01\n")                       # line 4: no hash
    f.write(f"BAD-3,{good['sha256']},150,2024-01-01\n")      # line 5: quality out of range
    f.write(f"BAD-4,{good['sha256']},100,2024-13-45\n")      # line 6: bad date
    f.write(f"BAD-5,{good['sha256'][:60]},100,\n")           # line 7: short digest
print("wrote Fixtures/lists")
