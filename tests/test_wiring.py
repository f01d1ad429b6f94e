"""Wiring: no hook is registered on import; the app factory and the worker's start-up do it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Run in a fresh interpreter: ``app`` imports every module that used to register a hook on
# import, then builds the app twice; ``worker`` runs `cxloop worker` up to its consumer loop,
# which reports the hooks instead of running.
PROBE = """
import json, sys
from cxloop.alerts import service as alerts
from cxloop.channels import email
from cxloop.ingest import service as ingest, webhooks
from cxloop.segments import service as segments

def hooks():
    return {
        "delivery": [h.__qualname__ for h in email._delivery_hooks],
        "store_change": [h.func.__name__ for h in webhooks._store_change_hooks],
        "events": [h.__qualname__ for h in ingest._events_hooks],
        "segment_entry": [h.__qualname__ for h in segments._entry_hooks],
        "settled_answer": [h.__qualname__ for h in alerts._settled_hooks],
    }

if sys.argv[1] == "app":
    import cxloop.web.app, cxloop.surveys.flows, cxloop.wiring
    from cxloop.worker.registry import load_tasks
    load_tasks()
    imported = hooks()
    from cxloop.web.app import create_app
    create_app()
    create_app()
    print(json.dumps({"imported": imported, "created": hooks()}))
else:
    import cxloop.worker.queue
    cxloop.worker.queue.run_consumer = lambda threads: print(json.dumps(hooks()))
    from cxloop.cli import main
    main(["worker"])
"""
WIRED = {
    "delivery": ["track_invitations"],
    "store_change": ["nps_plan"],
    "events": ["listen", "hear_events", "events_stored"],
    "segment_entry": ["segment_entry"],
    "settled_answer": ["answer_settled", "answer_settled", "answer_settled"],
}


def _probe(mode: str, tmp_path: Path) -> object:
    env = {
        **os.environ,
        "CXLOOP_HOME": str(tmp_path),
        "CXLOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_importing_wires_nothing_and_create_app_wires_each_hook_once(tmp_path: Path) -> None:
    assert _probe("app", tmp_path) == {
        "imported": {k: [] for k in WIRED},
        "created": WIRED,
    }


def test_the_worker_is_wired_before_its_consumer_starts(tmp_path: Path) -> None:
    assert _probe("worker", tmp_path) == WIRED
