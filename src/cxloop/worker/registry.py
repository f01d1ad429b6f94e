"""Imports every domain's tasks so that a consumer knows them all."""

from cxloop.worker import tasks as worker_tasks

__all__ = ["worker_tasks"]
