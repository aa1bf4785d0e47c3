#!/usr/bin/env python3
"""Splits a training CSV into fit and validation files: every fifth row (0, 5, 10, ...) is
validation. The encoder tier's settings were chosen on BANKING77's split (docs/design.md):

    python3 data/benchmarks/split.py data/benchmarks/banking77/train.csv /tmp/b77
    # -> /tmp/b77_fit.csv, /tmp/b77_val.csv
"""
import csv
import sys

source, prefix = sys.argv[1], sys.argv[2]
with open(source, newline="") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
for name, keep in (("fit", lambda i: i % 5 != 0), ("val", lambda i: i % 5 == 0)):
    with open(f"{prefix}_{name}.csv", "w", newline="") as out:
        w = csv.writer(out)
        w.writerow(header)
        w.writerows(r for i, r in enumerate(body) if keep(i))
