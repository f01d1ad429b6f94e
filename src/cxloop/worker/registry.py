"""Imports every domain's tasks so that a consumer knows them all."""

from cxloop.channels import tasks as channels_tasks
from cxloop.feedback import tasks as feedback_tasks
from cxloop.worker import tasks as worker_tasks

__all__ = ["channels_tasks", "feedback_tasks", "worker_tasks"]
