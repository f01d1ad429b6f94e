"""Theme background work: re-tag the history after a taxonomy change, retrain on corrections."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from cxloop.store.runtime import get_database
from cxloop.themes import service as tagging
from cxloop.worker.queue import huey
from cxloop.worker.service import recorded


@huey.task(context=True)
@recorded("feedback.retag")
def feedback_retag(workspace_id: str, task: Any = None) -> None:
    """Re-tag a workspace's answers after its taxonomy changed (batch by batch, resumable)."""
    tagging.retag_all(get_database(), workspace_id)


@huey.task(context=True)
@recorded("feedback.train")
def feedback_train(workspace_id: str, task: Any = None) -> None:
    """Retrain a workspace's theme model on its corrections (after a person made one)."""
    db = get_database()
    try:
        with db.session() as session:
            tagging.train(session, workspace_id)
    except IntegrityError:
        # Corrections in quick succession train at once in two workers: the other one wrote
        # the workspace's first model meanwhile. Train again, over it, on every correction.
        with db.session() as session:
            tagging.train(session, workspace_id)
