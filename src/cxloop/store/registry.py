"""Imports every domain's models so that the metadata is complete (Alembic, tests)."""

from cxloop.channels import models as channels_models
from cxloop.commerce import models as commerce_models
from cxloop.feedback import models as feedback_models
from cxloop.ingest import models as ingest_models
from cxloop.profiles import models as profiles_models
from cxloop.store.base import Base
from cxloop.worker import models as worker_models
from cxloop.workspaces import models as workspaces_models

__all__ = [
    "Base",
    "channels_models",
    "commerce_models",
    "feedback_models",
    "ingest_models",
    "profiles_models",
    "worker_models",
    "workspaces_models",
]
