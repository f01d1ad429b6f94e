"""The worker trains each workspace's recommendation models when its orders or catalog
changed, and stores them for the web processes (``serving.train_and_store``)."""

from __future__ import annotations

from typing import Any

from huey import crontab

from cxloop import workspaces
from cxloop.recommend import serving
from cxloop.store.runtime import get_database
from cxloop.worker.queue import huey
from cxloop.worker.service import recorded


@huey.periodic_task(crontab(minute="*/10"), context=True)
@recorded("recommend.train")
def train_models(task: Any = None) -> None:
    """Every ten minutes: train and store the models of the workspaces that changed."""
    db = get_database()
    with db.session() as session:
        every = workspaces.workspace_ids(session)
    for workspace_id in every:
        with db.session() as session:
            serving.train_and_store(session, workspace_id)
