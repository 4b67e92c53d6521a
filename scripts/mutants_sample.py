#!/usr/bin/env python3
"""Draws the seeded sample of mutants for scripts/mutants.sh and groups it by area.

Reads `cargo mutants --list --json` on stdin; writes, for each area with sampled mutants,
`<out>/<area>.names` (one mutant name a line) and `<out>/<area>.re` (a regular expression
matching exactly those names, for `cargo mutants --re`), and prints the areas used. The same
seed over the same source gives the same sample.
"""

import argparse
import json
import random
import re
import sys
from pathlib import Path

# Area of a source file: the first prefix that matches (see AREAS in scripts/mutants.sh).
AREAS = [
    ("package", "src/package/"),
    ("settings", "src/settings/"),
    ("emulator", "src/emulator/"),
    ("aws", "src/aws/"),
    ("commands", "src/commands/"),
]


def area_of(path):
    return next((area for area, prefix in AREAS if path.startswith(prefix)), None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    mutants = sorted(json.load(sys.stdin), key=lambda m: m["name"])
    rng = random.Random(args.seed)
    sample = rng.sample(mutants, min(args.size, len(mutants)))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    by_area = {}
    for mutant in sample:
        by_area.setdefault(area_of(mutant["file"]), []).append(mutant["name"])
    (out / "sample.names").write_text("".join(f"{m['name']}\n" for m in sample))
    for area, names in sorted(by_area.items()):
        (out / f"{area}.names").write_text("".join(f"{n}\n" for n in names))
        (out / f"{area}.re").write_text("^(" + "|".join(re.escape(n) for n in names) + ")$")
        print(area)
    print(f"{len(sample)} of {len(mutants)} mutants sampled with seed {args.seed}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
