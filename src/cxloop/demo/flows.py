"""`cxloop demo`: build the demo store, give it a console login, serve it."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sys

from rich.console import Console
from sqlalchemy import select

from cxloop import analytics
from cxloop.config import get_settings
from cxloop.demo import assistant as demo_assistant
from cxloop.demo import journeys as demo_journeys
from cxloop.demo import nps as demo_nps
from cxloop.demo import site as demo_site
from cxloop.demo.browsing import send_browsing
from cxloop.demo.generator import history_end
from cxloop.demo.service import build_demo
from cxloop.progress import progress_bar
from cxloop.store.db import Database
from cxloop.store.runtime import get_database
from cxloop.wiring import wire
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.models import User

DEMO_EMAIL = "demo@cxloop.example"


def demo_login(db: Database, workspace_id: str) -> tuple[str, str]:
    """Make (or refresh) the demo owner account for ``workspace_id``; returns email, password."""
    password = secrets.token_urlsafe(12)
    with db.session() as session:
        user = session.scalar(select(User).where(User.email == DEMO_EMAIL))
        if user is None:
            user = workspaces.create_user(
                session, email=DEMO_EMAIL, password=password, name="Demo", actor="demo"
            )
        else:
            workspaces.set_password(session, user, password, actor="demo")
        workspaces.add_member(
            session, workspace_id=workspace_id, user=user, role="owner", actor="demo"
        )
    return DEMO_EMAIL, password


def run_demo(
    *, customers: int, seed: int, serve: bool, host: str, port: int, as_json: bool
) -> None:
    """Build a demo store in a fresh workspace; print its summary; serve unless told not to."""
    db = get_database()
    console = Console(stderr=True)
    with progress_bar(transient=as_json) as report:
        today = dt.datetime.now(dt.UTC).date()
        result = build_demo(db, customers=customers, seed=seed, as_of=today, progress=report)
        web_events = send_browsing(
            db, result.workspace_id, seed=seed, end=history_end(today), progress=report
        )
        demo_nps.run_history(
            db, result.workspace_id, seed=seed, end=history_end(today), progress=report
        )
        # The assistant's FAQ and a month of conversations (after the survey with its chat
        # channel, so that shoppers it helped are asked for their score).
        wire()
        conversations = demo_assistant.run_history(
            db, result.workspace_id, seed=seed, end=history_end(today), progress=report
        )
        # The playbooks, switched on, hear the last weeks of history; the analytics run's
        # segments start the two that a score triggers.
        wire()
        demo_journeys.switch_on(db, result.workspace_id)
        demo_journeys.replay(
            db, result.workspace_id, get_settings(), end=history_end(today), progress=report
        )
        # The site's segments are filled by the analytics run; its visits are decided after.
        demo_site.install(db, result.workspace_id)
        scored = analytics.run_analytics(
            db,
            get_settings().resolved_analytics_url,
            result.workspace_id,
            as_of=history_end(today),
            actor="demo",
            progress=report,
        )
    demo_journeys.after_analytics(db, result.workspace_id, get_settings(), end=history_end(today))
    site = demo_site.run_history(db, result.workspace_id, seed=seed, end=history_end(today))
    nps = demo_nps.summary(db, result.workspace_id)
    summary = {
        **result.summary(),
        "web_events": web_events,
        "nps": {
            "score": None if nps.nps is None else round(nps.nps, 1),
            "ci95": None if nps.ci95 is None else [round(v, 1) for v in nps.ci95],
            "responses": nps.n,
        },
        "top_drivers": demo_nps.top_drivers(db, result.workspace_id),
        "rfm_segments": scored.segments,
        "journeys": demo_journeys.summary(db, result.workspace_id),
        "assistant": conversations,
        "site_campaigns": site,
    }
    login = demo_login(db, result.workspace_id)
    if as_json:
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
    else:
        for key, value in summary.items():
            console.print(f"{key}: {value}")
    url = f"http://{host}:{port}/"
    if serve:
        console.print(f"\nConsole: [bold]{url}[/bold]")
    else:
        console.print(f"\nConsole, once served (`cxloop serve --port {port}`): {url}")
    console.print(f"Email / e-mail: {login[0]}", soft_wrap=True)
    console.print(f"Password / mot de passe: {login[1]}\n", soft_wrap=True)
    if not serve:
        return
    from cxloop.web.server import run_server

    run_server(host=host, port=port, with_worker=True)
