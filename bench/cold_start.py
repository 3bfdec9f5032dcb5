"""Cold start: how long importing each function's module takes, against ``import boto3`` alone.

What a Lambda cold start pays before the first event is mostly the import of the handler's module.
Each measurement is a fresh interpreter (``python -c``) importing one module, with the settings a
deployment gives the function (``vkyc.config``: placeholders here); the modules take turns, so the
machine's load falls on all of them alike, ``--repetitions`` times; the figure is the median. Both the
wall-clock time of the import and its CPU time are reported; the ratios are to ``boto3`` measured in
the same run. Target: every function within ``TARGET_RATIO`` of ``boto3``.

The import is what the target is about. The apps build their services at the first event that needs
them, so each kind of handler is also measured *ready*: the module imported, then what its first event
builds (``READY``: the cached accessors it calls; CPU time is the steadier figure). In a deployment each
handler is a Lambda function of its own, so its cold start pays the import and its own ``READY`` line
only.

``--no-bytecode`` measures without compiled bytecode (an empty cache: what every cold start paid
when the deployment package shipped only sources; ``make package`` now adds it).

    python bench/cold_start.py [--repetitions 9] [--no-bytecode]

Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 1.5
MEASURE = (
    "import time; w = time.perf_counter(); c = time.process_time(); import {module}; "
    "print(time.perf_counter() - w, time.process_time() - c)"
)


# What a function's first event builds beyond the import (its cached accessors).
READY: dict[str, dict[str, str]] = {
    "signaling": {"messages": "m.graph()", "rest": "m.rest_api()"},
    "routing": {"schedules": "m.housekeeping()"},
    "reports": {"rest": "m.rest_api()", "streams": "m.monitor()"},
    "integrations": {"rest": "m.rest_api()", "streams, jobs": "m.services()"},
}
READY_MEASURE = (
    "import time; w = time.perf_counter(); c = time.process_time(); import {module} as m; {ready}; "
    "print(time.perf_counter() - w, time.process_time() - c)"
)


def function_modules() -> dict[str, str]:
    """Every app under ``functions/``: name -> module."""
    return {
        p.parent.name: f"functions.{p.parent.name}.app" for p in sorted((ROOT / "functions").glob("*/app.py"))
    }


def function_environment() -> dict[str, str]:
    """What a deployment sets (``vkyc.config``), with placeholder values."""
    sys.path.insert(0, str(ROOT))
    from vkyc.config import VARIABLES

    values = {v.name: "s" * 40 if v.secret else (v.default or "cold-start") for v in VARIABLES}
    return {**values, "AWS_DEFAULT_REGION": "ap-southeast-1"}


def measure(module: str, environment: dict[str, str], ready: str = "") -> tuple[float, float]:
    script = READY_MEASURE.format(module=module, ready=ready) if ready else MEASURE.format(module=module)
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"import {module} failed:\n{done.stderr}")
    wall, cpu = (float(x) for x in done.stdout.split())
    return wall * 1000, cpu * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=9)
    parser.add_argument("--no-bytecode", action="store_true", help="an empty bytecode cache for each import")
    args = parser.parse_args(argv)
    modules = {"boto3": "boto3", **function_modules()}
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VKYC_")},
        **function_environment(),
        "PYTHONPATH": str(ROOT),
    }
    if args.no_bytecode:
        empty = tempfile.mkdtemp()
        environment = {**environment, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": empty}
    readies = {
        f"{name}/{handler}": (modules[name], ready)
        for name, handlers in READY.items()
        if name in modules
        for handler, ready in handlers.items()
    }
    walls: dict[str, list[float]] = {name: [] for name in [*modules, *readies]}
    cpus: dict[str, list[float]] = {name: [] for name in walls}
    for _ in range(args.repetitions):
        for name, module in modules.items():
            wall, cpu = measure(module, environment)
            walls[name].append(wall)
            cpus[name].append(cpu)
        for name, (module, ready) in readies.items():
            wall, cpu = measure(module, environment, ready)
            walls[name].append(wall)
            cpus[name].append(cpu)
    wall_ms = {name: statistics.median(values) for name, values in walls.items()}
    cpu_ms = {name: statistics.median(values) for name, values in cpus.items()}
    print(f"{'import of':24s} {'wall ms':>9s} {'x boto3':>8s} {'cpu ms':>9s} {'x boto3':>8s}")
    for name in [*modules, *readies]:
        if name in readies and name == next(iter(readies)):
            print(f"{'ready (first event)':24s}")
        print(
            f"{name:24s} {wall_ms[name]:9.0f} {wall_ms[name] / wall_ms['boto3']:8.2f} "
            f"{cpu_ms[name]:9.0f} {cpu_ms[name] / cpu_ms['boto3']:8.2f}"
        )
    ratios = {name: round(wall_ms[name] / wall_ms["boto3"], 2) for name in modules if name != "boto3"}
    result = {
        "repetitions": args.repetitions,
        "bytecode": not args.no_bytecode,
        "boto3_ms": round(wall_ms["boto3"], 1),
        "functions_ms": {name: round(wall_ms[name], 1) for name in ratios},
        "ratio_to_boto3": ratios,
        "cpu_boto3_ms": round(cpu_ms["boto3"], 1),
        "cpu_ratio_to_boto3": {name: round(cpu_ms[name] / cpu_ms["boto3"], 2) for name in ratios},
        "ready_cpu_ms": {name: round(cpu_ms[name], 1) for name in readies},
        "ready_cpu_ratio_to_boto3": {name: round(cpu_ms[name] / cpu_ms["boto3"], 2) for name in readies},
        "target_ratio": TARGET_RATIO,
        "target_met": all(ratio <= TARGET_RATIO for ratio in ratios.values()),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
