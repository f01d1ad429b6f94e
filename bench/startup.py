"""Start-up: how long a new process takes before it answers, beside the floor Python and uvicorn
set, in one run. Every restart, deployment, command-line call and killed server waits for it.

- serving: from spawning ``cxloop serve --no-worker`` on a migrated SQLite store to the first
  200 of ``GET /healthz``, against ``bench/null_server.py`` (uvicorn with the same settings and
  an app that does nothing) spawned and asked the same way;
- the command line: ``cxloop --help`` to its exit, against ``python -c pass``.

Median and slowest of ``--repeat`` runs, in seconds.

    .venv/bin/python bench/startup.py --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from http_load import free_port

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
CXLOOP = ROOT / ".venv" / "bin" / "cxloop"


def until_answered(command: list[str], path: str, env: dict[str, str]) -> float:
    """Seconds from spawning ``command`` (given ``--port``) to a 200 on ``path``."""
    port = free_port()
    started = time.perf_counter()
    server = subprocess.Popen(
        [*command, "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit(f"{command[0]} stopped with {server.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.01)
    finally:
        server.terminate()
        server.wait(timeout=30)


def until_done(command: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning ``command`` to its exit (which must be 0)."""
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="cxloop-bench-startup-"))
    env = {
        **os.environ,
        "CXLOOP_HOME": str(home),
        "CXLOOP_DATABASE_URL": f"sqlite:///{home / 'cxloop.db'}",
    }
    subprocess.run([str(CXLOOP), "init"], env=env, check=True, capture_output=True)
    runs = {
        "uvicorn, an app that does nothing (the floor)": lambda: until_answered(
            [str(PYTHON), str(ROOT / "bench" / "null_server.py")], "/", env
        ),
        "cxloop serve --no-worker, GET /healthz": lambda: until_answered(
            [str(CXLOOP), "serve", "--no-worker"], "/healthz", env
        ),
        "python -c pass (the floor)": lambda: until_done([str(PYTHON), "-c", "pass"], env),
        "cxloop --help": lambda: until_done([str(CXLOOP), "--help"], env),
    }
    load = os.getloadavg()[0]
    print(f"# Start-up: {len(os.sched_getaffinity(0))} cores, load average {load:.1f}")
    print()
    print(f"Python {sys.version.split()[0]}; each the median and slowest of {args.repeat} runs")
    print()
    print("| process | median s | slowest s |")
    print("|---|---:|---:|")
    found = {}
    for name, run in runs.items():
        laps = [run() for _ in range(args.repeat)]
        found[name] = statistics.median(laps)
        print(f"| {name} | {found[name]:.2f} | {max(laps):.2f} |")
    serve = found["cxloop serve --no-worker, GET /healthz"]
    floor = found["uvicorn, an app that does nothing (the floor)"]
    print()
    print(f"cxloop answers {serve - floor:.2f} s after uvicorn alone would ({serve:.2f} s in all)")


if __name__ == "__main__":
    main()
