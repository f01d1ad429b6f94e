"""Console pages: the outbox, shown like a mailbox (list, one message, its HTML sandboxed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from cxloop.channels import service as channels
from cxloop.web.console import login_redirect, member_workspace, render
from cxloop.web.deps import SessionDep

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
STATUSES = ("queued", "sending", "sent", "outbox", "failed", "bounced", "complained")
# The stored HTML is someone else's markup as far as the console is concerned: served in a
# sandbox (no script, no same-origin, no forms), with only inline styles and images allowed.
HTML_POLICY = (
    "sandbox; default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'"
)


@router.get("/w/{workspace_id}/outbox")
def outbox(
    request: Request, session: SessionDep, workspace_id: str, page: int = 1, status: str = ""
) -> Response:
    """The messages sent or kept for this workspace, newest first."""
    user, mine, current = member_workspace(request, session, workspace_id)
    if user is None:
        return login_redirect(request)
    if current is None:
        return render(request, "not_found.html", user, status=404, workspaces=mine)
    page = max(page, 1)
    status = status if status in STATUSES else ""
    rows = channels.list_messages(
        session, workspace_id, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE, status=status
    )
    return render(
        request,
        "outbox.html",
        user,
        workspaces=mine,
        workspace=current,
        rows=rows[:PAGE_SIZE],
        page=page,
        has_next=len(rows) > PAGE_SIZE,
        status_filter=status,
        statuses=STATUSES,
    )


@router.get("/w/{workspace_id}/outbox/{message_id}")
def outbox_message(
    request: Request, session: SessionDep, workspace_id: str, message_id: int
) -> Response:
    """One message: its headers, delivery events, text part, and HTML in a sandboxed frame."""
    user, mine, current = member_workspace(request, session, workspace_id)
    if user is None:
        return login_redirect(request)
    message = channels.get_message(session, workspace_id, message_id) if current else None
    if current is None or message is None:
        return render(request, "not_found.html", user, status=404, workspaces=mine)
    headers = [
        ("From", message.from_address),
        ("To", message.to_address),
        ("Subject", message.subject),
        *sorted((message.headers or {}).items()),
    ]
    return render(
        request,
        "outbox_message.html",
        user,
        workspaces=mine,
        workspace=current,
        message=message,
        headers=headers,
        events=channels.events_of(session, message),
    )


@router.get("/w/{workspace_id}/outbox/{message_id}/html")
def outbox_message_html(
    request: Request, session: SessionDep, workspace_id: str, message_id: int
) -> Response:
    """The stored HTML part, served under a sandboxing Content-Security-Policy."""
    user, _mine, current = member_workspace(request, session, workspace_id)
    if user is None:
        return login_redirect(request)
    message = channels.get_message(session, workspace_id, message_id) if current else None
    if message is None:
        return Response("not found", status_code=404, media_type="text/plain")
    return HTMLResponse(
        message.html,
        headers={
            "Content-Security-Policy": HTML_POLICY,
            # Framed by the message page only (the app's default is DENY).
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "private, no-store",
        },
    )
