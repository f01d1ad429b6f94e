"""Recording background task runs, and the queue's health."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cxloop.store.base import utcnow
from cxloop.store.runtime import get_database
from cxloop.worker.models import JobRun

P = ParamSpec("P")
R = TypeVar("R")


def recorded(name: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Wrap a task body so that each run leaves a ``job_runs`` row (status, timing, error)."""

    def decorate(body: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(body)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            task = kwargs.get("task")
            task_id = str(getattr(task, "id", "") or "")
            workspace_id = kwargs.get("workspace_id")
            db = get_database()
            with db.session() as session:
                record = JobRun(task_id=task_id, name=name, workspace_id=workspace_id)
                session.add(record)
            try:
                result = body(*args, **kwargs)
            except Exception as exc:
                with db.session() as session:
                    row = session.get(JobRun, record.id)
                    if row is not None:
                        row.status, row.detail, row.finished_at = "failed", repr(exc), utcnow()
                raise
            with db.session() as session:
                row = session.get(JobRun, record.id)
                if row is not None:
                    row.status, row.finished_at = "done", utcnow()
            return result

        return run

    return decorate


def last_run_at(session: Session, name: str) -> dt.datetime | None:
    """When the task ``name`` last finished successfully."""
    return session.scalar(
        select(func.max(JobRun.finished_at)).where(JobRun.name == name, JobRun.status == "done")
    )


def runs_of(session: Session, name: str, task_id: str | None = None) -> list[JobRun]:
    """The recorded runs of a task, oldest first."""
    query = select(JobRun).where(JobRun.name == name)
    if task_id is not None:
        query = query.where(JobRun.task_id == task_id)
    return list(session.scalars(query.order_by(JobRun.id)))


def prune_runs(session: Session, older_than: dt.timedelta) -> int:
    """Delete run records older than ``older_than``; returns how many went."""
    cutoff = utcnow() - older_than
    result: Any = session.execute(delete(JobRun).where(JobRun.started_at < cutoff))
    return int(result.rowcount or 0)
