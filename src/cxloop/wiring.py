"""Start-up wiring: the hooks by which one domain hears of another's changes.

``create_app`` and the worker's start-up (``cxloop worker``) call ``wire`` before serving or
running anything; no module registers a hook when it is imported, so a process has the same hooks
whichever modules it happens to have loaded. Work that must wait for a commit is not wired here:
the service action that calls for it leaves it on its session (``cxloop.store.db.after_commit``).
"""

from __future__ import annotations

from cxloop import alerts, assistant, cases, ingest, segments, themes
from cxloop.analytics import tasks as analytics_tasks
from cxloop.cases import flows as case_flows
from cxloop.channels import email
from cxloop.ingest import webhooks
from cxloop.journeys import tasks as journeys
from cxloop.surveys import flows
from cxloop.surveys.tasks import nps_plan


def wire() -> None:
    """Connect every cross-domain hook; calling it again changes nothing."""
    # Provider events and sent batches keep the invitations' funnel times (delivered, opened).
    email.on_delivery(flows.track_invitations)
    # A store webhook that changed orders or parcels plans NPS invitations now, in a worker.
    webhooks.on_store_change(nps_plan)
    # Stored events that journeys listen to (triggers, waits, goals) go to their inbox.
    ingest.on_events(journeys.listen)
    # A customer's new order shows on their open cases, and so does a new answer.
    ingest.on_events(cases.hear_events)
    alerts.on_settled_answer(case_flows.answer_settled)
    # Orders, parcels, traits and answers keep each customer's dynamic segments current.
    ingest.on_events(analytics_tasks.events_stored)
    alerts.on_settled_answer(analytics_tasks.answer_settled)
    # Customers entering a segment start the journeys it triggers.
    segments.on_entry(journeys.segment_entry)
    # A settled NPS answer is the event "NPS Answered" for journeys.
    alerts.on_settled_answer(journeys.answer_settled)
    # NPS answers given to the shopping assistant are tagged and alerted as any other.
    assistant.answers_through(themes.tags_for, alerts.alert_after_commit)
