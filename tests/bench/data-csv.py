#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""data-csv.py — the data benchmarks' CSV: ROWS rows of id, ts, value (a real with four
decimals), qty, category (20 values) and user (100,000 values), the same for a given
count every time (seeded). 1,000,000 rows are 49.2 MB.
Usage: data-csv.py PATH ROWS"""
import random
import sys

rnd = random.Random(1)
cats = [f"category-{i:02d}" for i in range(20)]
with open(sys.argv[1], "w") as f:
    f.write("id,ts,value,qty,category,user\n")
    for i in range(int(sys.argv[2])):
        f.write(f"{i},{1700000000 + i * 7},{rnd.gauss(100, 25):.4f},{rnd.randint(0, 999)},"
                f"{rnd.choice(cats)},u{rnd.randint(0, 99999)}\n")
