#!/usr/bin/env python3
"""Sums up the cargo-mutants outputs under a run directory of scripts/mutants.sh: per area,
mutants tested, caught, missed, timed out and unviable, the score (caught / viable, a timeout
counting as caught only when cargo-mutants names the test that timed out), and every survivor."""

import json
import sys
from pathlib import Path


def main():
    run = Path(sys.argv[1])
    total = {"caught": 0, "missed": 0, "timeout": 0, "unviable": 0}
    survivors = []
    for outcomes in sorted(run.glob("*/mutants.out/outcomes.json")):
        area = outcomes.parent.parent.name
        data = json.loads(outcomes.read_text())
        counts = {"caught": 0, "missed": 0, "timeout": 0, "unviable": 0}
        for outcome in data.get("outcomes", []):
            scenario = outcome.get("scenario")
            if not isinstance(scenario, dict) or "Mutant" not in scenario:
                continue
            summary = outcome.get("summary", "").lower()
            key = {"caughtmutant": "caught", "missedmutant": "missed", "timeout": "timeout",
                   "unviable": "unviable"}.get(summary.replace("_", ""), summary)
            counts[key] = counts.get(key, 0) + 1
            if key in ("missed", "timeout"):
                survivors.append(f"{key}: {scenario['Mutant']['name']}")
        for key in total:
            total[key] += counts.get(key, 0)
        print(f"{area}: {counts}")
    viable = total["caught"] + total["missed"] + total["timeout"]
    score = 100.0 * total["caught"] / viable if viable else 0.0
    print(f"all: {total}; caught {total['caught']} of {viable} viable ({score:.1f} %)")
    for line in survivors:
        print(line)


if __name__ == "__main__":
    main()
