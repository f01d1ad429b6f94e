"""Start-up wiring: the hooks by which one domain hears of another's changes.

``create_app`` and the worker's start-up (``cxloop worker``) call ``wire`` before serving or
running anything; no module registers a hook when it is imported, so a process has the same hooks
whichever modules it happens to have loaded. Work that must wait for a commit is not wired here:
the service action that calls for it leaves it on its session (``cxloop.store.db.after_commit``).
"""

from __future__ import annotations

from cxloop.channels import email
from cxloop.ingest import webhooks
from cxloop.surveys import flows
from cxloop.surveys.tasks import nps_plan


def wire() -> None:
    """Connect every cross-domain hook; calling it again changes nothing."""
    # Provider events and sent batches keep the invitations' funnel times (delivered, opened).
    email.on_delivery(flows.track_invitations)
    # A store webhook that changed orders or parcels plans NPS invitations now, in a worker.
    webhooks.on_store_change(nps_plan)
