"""Group commit: one thread writes the calls of many requests in one transaction.

A request is acknowledged only after the transaction holding its calls has committed, so an
acknowledged request survives a crash of the process (SQLite in WAL mode, PostgreSQL). Grouping
the requests that arrive while a transaction is being written is what makes this fast: one
commit, one identity lookup and one multi-row insert for many requests.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from cxloop.ingest import service
from cxloop.ingest.segment import Message
from cxloop.store.db import Database

log = logging.getLogger(__name__)
MAX_GROUP_CALLS = 5000


@dataclass
class _Submission:
    workspace_id: str
    messages: list[Message]
    done: Future[int] = field(default_factory=Future)


class IngestWriter:
    """The single writer of incoming calls (start it once per process)."""

    def __init__(self, db: Database, max_group_calls: int = MAX_GROUP_CALLS) -> None:
        self._db = db
        self._max = max_group_calls
        self._queue: queue.Queue[_Submission | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="cxloop-ingest", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Write what is queued, then stop the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=30)

    async def submit(self, workspace_id: str, messages: list[Message]) -> int:
        """Queue calls and wait until they are committed; returns how many were accepted."""
        self.start()
        submission = _Submission(workspace_id, messages)
        self._queue.put(submission)
        return await asyncio.wrap_future(submission.done)

    def write_now(self, workspace_id: str, messages: list[Message]) -> int:
        """Write calls synchronously in the caller's thread (imports, tests)."""
        with self._db.session() as session:
            return service.store_messages(session, workspace_id, messages)

    def _next_group(self, first: _Submission) -> tuple[list[_Submission], bool]:
        group, calls = [first], len(first.messages)
        while calls < self._max:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                return group, True
            group.append(item)
            calls += len(item.messages)
        return group, False

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            group, stopping = self._next_group(first)
            try:
                with self._db.session() as session:
                    counts = self._write_group(session, group)
            except Exception:
                # One bad request must not sink the others: retry each on its own.
                log.exception("group write failed; retrying %d requests one by one", len(group))
                for submission in group:
                    self._write_alone(submission)
                continue
            for submission, count in zip(group, counts, strict=True):
                submission.done.set_result(count)

    @staticmethod
    def _write_group(session: Session, group: list[_Submission]) -> list[int]:
        # One identity lookup and one insert per workspace for the whole group. A call that
        # was already stored is skipped by the insert, so the count a request gets back is
        # its share of the new rows only when it is alone; the API does not report it.
        by_workspace: dict[str, list[Message]] = {}
        for submission in group:
            by_workspace.setdefault(submission.workspace_id, []).extend(submission.messages)
        for workspace_id, messages in by_workspace.items():
            service.store_messages(session, workspace_id, messages)
        return [len(submission.messages) for submission in group]

    def _write_alone(self, submission: _Submission) -> None:
        try:
            count = self.write_now(submission.workspace_id, submission.messages)
        except Exception as exc:
            submission.done.set_exception(exc)
        else:
            submission.done.set_result(count)
