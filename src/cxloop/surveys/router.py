"""The hosted survey page: `/s/{token}` (with `?score=N` from the email's buttons)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Body, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from cxloop import i18n
from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.surveys import service
from cxloop.surveys.models import Invitation, Survey
from cxloop.surveys.models import Response as Answer
from cxloop.workspaces.models import Workspace

pages = APIRouter(include_in_schema=False)


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def form_key(request: Request, token: str) -> str:
    """A per-invitation key the page's forms carry: a POST from another site cannot forge it."""
    secret = request.app.state.settings.resolved_secret_key().encode()
    return hmac.new(secret, f"survey:{token}".encode(), hashlib.sha256).hexdigest()[:32]


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, {"locale": i18n.current_locale.get(), **context}, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _context(session: Session, invitation: Invitation) -> dict[str, Any]:
    survey = session.get(Survey, invitation.survey_id)
    workspace = session.get(Workspace, invitation.workspace_id)
    store = workspace.name if workspace else ""
    if survey is None:
        return {"store": store}
    definition = service.definition_of(survey)
    texts = definition.texts["fr" if invitation.locale == "fr" else "en"]
    return {
        "store": store,
        "question": texts.question.replace("{store}", store),
        "low_label": texts.low_label,
        "high_label": texts.high_label,
        "followups": texts.followup,
        "thanks": texts.thanks,
    }


def _score(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or not 0 <= int(value) <= 10:
        raise InvalidInput("score", "must be an integer from 0 to 10")
    return int(value)


@pages.get("/s/{token}")
def survey_page(request: Request, token: str, score: str | None = None) -> Response:
    """The survey page; a score in the link is recorded as provisional (scanners open links)."""
    with _db(request).session() as session:
        invitation = service.invitation_by_token(session, token)
        if invitation is None:
            return _page(request, "survey_closed.html", 404, reason="unknown")
        with i18n.speaking(invitation.locale):
            context = _context(session, invitation)
            try:
                chosen = _score(score)
            except InvalidInput:
                chosen = None
            existing = session.query(Answer).filter_by(invitation_id=invitation.id).one_or_none()
            if chosen is not None:
                try:
                    answer = service.record_answer(session, invitation, chosen, confirmed=False)
                    existing = answer.response
                except service.SurveyClosed:
                    return _page(request, "survey_closed.html", 410, reason="expired", **context)
            elif utcnow() > invitation.expires_at:
                return _page(request, "survey_closed.html", 410, reason="expired", **context)
            current = existing.score if existing is not None else None
            return _page(
                request,
                "survey.html",
                token=token,
                key=form_key(request, token),
                score=current,
                comment=existing.comment if existing else "",
                category=service.category_of(current) if current is not None else None,
                confirmed=existing is not None and existing.status == "confirmed",
                **context,
            )


@pages.post("/s/{token}")
def survey_answer(
    request: Request,
    token: str,
    score: Annotated[str, Form()],
    key: Annotated[str, Form()] = "",
    comment: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """A person's answer: the score confirmed, with the comment if any."""
    if not hmac.compare_digest(key, form_key(request, token)):
        return JSONResponse({"error": "forbidden", "detail": "bad form key", "field": "key"}, 403)
    chosen = _score(score)
    if chosen is None:
        raise InvalidInput("score", "choose a score from 0 to 10")
    with _db(request).session() as session:
        invitation = service.invitation_by_token(session, token)
        if invitation is None:
            return _page(request, "survey_closed.html", 404, reason="unknown")
        with i18n.speaking(invitation.locale):
            context = _context(session, invitation)
            try:
                answer = service.record_answer(
                    session, invitation, chosen, confirmed=True, comment=comment
                )
            except service.SurveyClosed:
                return _page(request, "survey_closed.html", 410, reason="expired", **context)
            response_id = answer.response.id
            category = answer.response.category
            page = _page(
                request,
                "survey_thanks.html",
                category=category,
                **{**context, "thanks": context.get("thanks", {}).get(category, "")},
            )
    # The form is the person's last word: alert now (once; an earlier alert is not repeated).
    request.app.state.on_answer(response_id, True)
    return page


@pages.post("/s/{token}/seen")
def survey_seen(
    request: Request, token: str, payload: Annotated[dict[str, Any], Body()]
) -> Response:
    """The page's script reports a person (a real interaction): the score becomes an answer."""
    if not hmac.compare_digest(str(payload.get("key", "")), form_key(request, token)):
        return JSONResponse({"error": "forbidden", "detail": "bad form key", "field": "key"}, 403)
    chosen = _score(str(payload.get("score", "")))
    if chosen is None:
        raise InvalidInput("score", "choose a score from 0 to 10")
    with _db(request).session() as session:
        invitation = service.invitation_by_token(session, token)
        if invitation is None:
            return JSONResponse(
                {"error": "not_found", "detail": "unknown survey", "field": "token"}, 404
            )
        try:
            answer = service.record_answer(session, invitation, chosen, confirmed=True)
        except service.SurveyClosed as exc:
            return JSONResponse({"error": "closed", "detail": str(exc), "field": "token"}, 410)
        response_id, newly = answer.response.id, answer.newly_confirmed
        category = answer.response.category
    if newly:
        # The score is confirmed but a comment may follow: alert a little later, with it.
        request.app.state.on_answer(response_id, False)
    return JSONResponse(
        {"ok": True, "category": category}, headers={"Access-Control-Allow-Origin": "*"}
    )


# ---------------------------------------------------------------- on-site widget


@pages.post("/widget/v1/nps")
def widget_decide(request: Request, payload: Annotated[dict[str, Any], Body()]) -> Response:
    """Whether the store's page should show the NPS widget to this visitor, and what it says.

    Called by ``/static/widget/nps.js`` with the write key; answers with an open widget
    invitation for the customer (planned by the same rules as email: throttling, suppression,
    consent) or ``{"show": false}``.
    """
    cors = {"Access-Control-Allow-Origin": "*"}
    key = payload.get("writeKey")
    workspace_id = request.app.state.write_keys.workspace_of(key) if isinstance(key, str) else None
    if workspace_id is None:
        return JSONResponse(
            {"error": "unauthorized", "detail": "unknown write key", "field": "writeKey"},
            401,
            headers=cors,
        )
    user_id = payload.get("userId")
    if not isinstance(user_id, str) or not user_id:
        return JSONResponse({"show": False}, headers=cors)
    with _db(request).session() as session:
        invitation = service.widget_invitation(session, workspace_id, user_id, utcnow())
        if invitation is None:
            return JSONResponse({"show": False}, headers=cors)
        context = _context(session, invitation)
        token = invitation.token
    return JSONResponse(
        {
            "show": True,
            "token": token,
            "key": form_key(request, token),
            "question": context.get("question", ""),
            "low_label": context.get("low_label", ""),
            "high_label": context.get("high_label", ""),
            "url": f"/s/{token}",
        },
        headers=cors,
    )


@pages.options("/widget/v1/nps")
def widget_preflight() -> Response:
    """CORS preflight for the widget's call."""
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
        },
    )


@pages.options("/s/{token}/seen")
def seen_preflight(token: str) -> Response:
    """CORS preflight: the widget confirms scores from the store's own pages."""
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
        },
    )
