"""The edit–deploy loop of bench/run.py (issue 30): for the bash and the Deno template side by
side, against moto, the time of a no-op `update`, a no-op `publish-layer`, and an `update` after a
one-line edit of the handler. A Deno project carries a ~95 MB `deno` binary in its layer; the
target is that it costs no more than twice the bash project's (+50 ms): what changed, not what
the project weighs.
"""

import os
import subprocess
import time
from pathlib import Path

STEPS = ("update, nothing changed", "publish-layer, nothing changed", "update, one-line edit")


def measure(binary, moto, runs, workdir, deno_dir):
    """{template: {step: [seconds]}}."""
    binary = str(Path(binary).resolve())
    env = dict(moto.env, PATH=f"{deno_dir}:{os.environ['PATH']}")
    times = {}
    for template in ("bash", "deno"):
        project = Path(workdir) / f"edit-loop-{template}"
        subprocess.run([binary, "init", str(project), "--template", template, "-q",
                        "--function-name", f"edit-loop-{template}"], check=True, env=env)

        def step(*args):
            start = time.perf_counter()
            result = subprocess.run([binary, *args, "-q"], cwd=project, env=env,
                                    capture_output=True, timeout=600)
            if result.returncode != 0:
                raise SystemExit(f"`lambda-rt {' '.join(args)}` in the {template} project "
                                 f"failed:\n{result.stderr.decode(errors='replace')}")
            return time.perf_counter() - start

        step("create")
        step("publish-layer")
        # Files changed less than 2 s ago are hashed again each time (see package/record.rs):
        # measure the loop on a project that has settled, as one does between edits.
        time.sleep(2.1)
        step("update")
        step("publish-layer")
        handler = next(p for p in (project / "function").iterdir() if p.is_file())
        comment = "//" if handler.suffix == ".ts" else "#"
        times[template] = {name: [] for name in STEPS}
        for run_number in range(runs):
            times[template]["update, nothing changed"].append(step("update"))
            times[template]["publish-layer, nothing changed"].append(step("publish-layer"))
            with open(handler, "a") as file:
                file.write(f"\n{comment} edit {run_number}\n")
            times[template]["update, one-line edit"].append(step("update"))
    return times


def report(times, fmt_ms, median, verdict):
    """The section's lines."""
    out = ["## Edit loop: the bash and the Deno template side by side\n",
           "Against moto, on projects whose runtime is in the layer (`publish-layer` done). "
           "The Deno project's layer carries the ~95 MB `deno` binary. A no-op learns that the "
           "code and the layer are deployed from the local record of the package's inputs "
           "(`.lambda-rt/packages.json`), without zipping; an edit zips the function's own files "
           "only. Target: the Deno project within 2× (+50 ms) of the bash project.\n",
           "| step | bash project | Deno project | target |", "|---|---|---|---|"]
    for name in STEPS:
        bash, deno = times["bash"][name], times["deno"][name]
        met = median(deno) <= 2 * median(bash) + 0.050
        out.append(f"| {name} | {fmt_ms(bash)} | {fmt_ms(deno)} | {verdict(met)} |")
    out.append("")
    return out
