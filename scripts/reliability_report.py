#!/usr/bin/env python3
"""Turns the JSON lines the reliability tests record (LAMBDA_RT_RELIABILITY_REPORT) into
docs/reliability.md. Every number in the document comes from those lines; nothing is typed in."""

import json
import sys


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [str(c).replace("|", "\\|").replace("\n", " ") for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(path):
    records = [json.loads(line) for line in open(path) if line.strip()]
    by_kind = {}
    for record in records:
        by_kind.setdefault(record["kind"], []).append(record)

    out = ["# Reliability report", ""]
    out.append(
        "Produced by `scripts/reliability.sh` from the counts the tests record while they run "
        "(tests/faults.rs, tests/deploy.rs, tests/layers.rs, tests/kill_sweep.rs) against a real `moto_server` behind "
        "the test suite's proxy with fault injection (tests/common/proxy/). Re-run that command to reproduce it; "
        "the normal test suite runs the same tests with 3 fault runs instead of 50 and every 4th "
        "kill point at test durations."
    )
    out.append("")

    out += ["## Faults during the full cycle", ""]
    for cycle in by_kind.get("fault_cycle", []):
        out.append(
            f"Each run does create → update (no change) → update (handler edited) → "
            f"publish-layer --share-with → invoke → delete for its own function, with "
            f"`--max-attempts 10 --read-timeout 2`; every other run uses a pre-existing role that "
            f"lambda-rt did not create. {cycle['rate'] * 100:.0f}% of all requests are faulted, "
            f"the kind chosen uniformly, from seed {cycle['seed']} + run number."
        )
        out.append("")
        out.append(
            table(
                ["runs", "successes", "requests", "faults injected", "resources left over",
                 "duplicate layer versions", "bystanders changed", "seconds"],
                [[cycle["runs"], cycle["successes"], cycle["requests"],
                  sum(cycle["faults"].values()), len(cycle["leftovers"]),
                  len(cycle["duplicates"]), "no" if cycle["bystanders_unchanged"] else "YES",
                  cycle["seconds"]]],
            )
        )
        out.append("")
        out.append(table(["fault injected", "count"], sorted(cycle["faults"].items())))
        out.append("")
        for failure in cycle["failures"] + cycle["leftovers"] + cycle["duplicates"]:
            out.append(f"- {failure}")
        out.append(
            "Bystanders: a function, a layer with its own policy statement, and a role, none "
            "created by lambda-rt; compared before and after all runs."
        )
        out.append("")

    out += ["## A fault retries cannot outlast", ""]
    out.append(
        "The call always fails (`--max-attempts 2`): the command fails naming the step; the next "
        "fault-free run of the same command converges."
    )
    out.append("")
    out.append(
        table(
            ["call", "fault", "message", "next run converged"],
            [[r["call"], r["fault"], r["message"], "yes" if r["converged"] else "NO"]
             for r in by_kind.get("unrecoverable_fault", [])],
        )
    )
    out.append("")

    out += ["## Interruptions", ""]
    out.append(
        "The proxy holds the request at the step boundary; the test sends the signal while it "
        "is held, then runs the same command again without faults."
    )
    out.append("")
    out.append(
        table(
            ["point", "command", "signal", "exit", "stopped after", "next run converged"],
            [[r["point"], r["command"], r["signal"], r["exit"], f"{r['stopped_after_ms']} ms",
              "yes" if r["converged"] else "NO"]
             for r in by_kind.get("interruption", [])],
        )
    )
    out.append("")

    out += ["## The kill sweep", ""]
    for sweep in by_kind.get("kill_sweep", []):
        signals = "SIGKILL and SIGINT at every point" if sweep["every"] == 1 else (
            f"every {sweep['every']}th point, the signal alternating")
        out.append(
            f"Each command is stopped right after its k-th AWS request, for k from 1 to the "
            f"requests of a clean run ({signals}; tests/kill_sweep.rs), then run again at once. "
            f"A point converges when that re-run exits 0 and leaves exactly what a clean run "
            f"leaves (function, code, configuration, tags, versions, aliases, URL, policy "
            f"statements, role and its policies, layer versions, log group), a further re-run makes 0 writes, "
            f"and `delete` then leaves nothing. Through the realism proxy: Pending "
            f"{sweep['pending_ms'] / 1000:g} s, InProgress {sweep['in_progress_ms'] / 1000:g} s, "
            f"IAM propagation {sweep['iam_propagation_ms'] / 1000:g} s, "
            f"{'one-item pages' if sweep['one_item_pages'] else 'whole pages'}; "
            f"{sweep['seconds']} s in all."
        )
        out.append("")
        out.append(
            table(
                ["command", "requests (clean run)", "points", "SIGKILL", "SIGINT",
                 "stopped there", "converged"],
                [[f"`{r['command']}`", r["requests"], r["points"], r["sigkill"], r["sigint"],
                  r["stopped"], r["converged"]] for r in sweep["rows"]],
            )
        )
        out.append("")
        out.append(
            "\"Stopped there\" counts the points where the command was still running at its "
            "(k+1)-th request; at the others (waits poll a varying number of times) it ended "
            "first, and the point checks the re-runs all the same."
        )
        out.append("")
        for row in sweep["rows"]:
            for failure in row["failures"]:
                out.append(f"- `{row['command']}`: {failure}")
        out.append("")

    out += ["## Timeouts", ""]
    out.append(
        table(
            ["case", "failed after", "message"],
            [[r["case"], f"{r['failed_after_ms']} ms", r["message"]]
             for r in by_kind.get("timeout", [])],
        )
    )
    out.append("")

    out += ["## Secrets", ""]
    for r in by_kind.get("secret_leak", []):
        out.append(
            f"{r['commands']} commands at `{r['verbosity']}` with a marker secret key and session "
            f"token: the marker, `Signature=` and `X-Amz-Security-Token` appeared {r['leaks']} "
            f"times in stdout and stderr."
        )
    out.append("")

    bad = by_kind.get("bad_input", [])
    out += ["## Bad inputs", ""]
    out.append(
        f"{len(bad)} bad inputs tried; each test also checks that moto received no write call."
    )
    out.append("")
    out.append(
        table(["command", "exit", "message"],
              [[f"`{r['command']}`", r["exit"], r["message"]] for r in bad])
    )
    out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
