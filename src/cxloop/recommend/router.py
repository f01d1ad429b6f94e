"""Recommendations over HTTP: the store's pages ask for a placement's list with the write key;
merchants set each placement's strategy, repeats, pinned and banned products over the admin
API and in the console, beside what each model measured on their own orders."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from cxloop import profiles
from cxloop.errors import InvalidInput
from cxloop.recommend import placements, serving
from cxloop.recommend.lists import buys_again
from cxloop.web import templating
from cxloop.web.deps import (
    AdminDep,
    CsrfFormDep,
    EditorDep,
    Member,
    MemberDep,
    SessionDep,
    write_key_workspace,
)

CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}

public = APIRouter(prefix="/p/v1", tags=["personalization"])
api = APIRouter(prefix="/api/v1", tags=["admin"])
pages = APIRouter(include_in_schema=False)
routers = (public, api, pages)


@public.get("/recommendations")
def recommendations(
    request: Request,
    session: SessionDep,
    placement: Annotated[str, Query(max_length=20)],
    user_id: Annotated[str | None, Query(max_length=200)] = None,
    anonymous_id: Annotated[str | None, Query(max_length=200)] = None,
    product_id: Annotated[list[str] | None, Query(max_length=50)] = None,
    k: Annotated[int, Query(ge=1, le=serving.MAX_K)] = 10,
    write_key: Annotated[str | None, Query(alias="writeKey", max_length=200)] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """The products to show on ``placement`` (home, product, cart, email, assistant, similar,
    upsell, recent) for the customer (``user_id``) or visitor (``anonymous_id``) next to
    ``product_id`` (repeatable: a cart's products)."""
    workspace_id = write_key_workspace(request, write_key, authorization, CORS)
    customer_id: int | None = None
    if user_id:
        known = profiles.find_by_user_id(session, workspace_id, user_id)
        customer_id = known.id if known is not None else None
    if customer_id is None and anonymous_id:
        found = profiles.lookup_identities(session, workspace_id, {("anonymous_id", anonymous_id)})
        customer_id = found.get(("anonymous_id", anonymous_id))
    picked = serving.recommendations(
        session,
        workspace_id,
        placement=placement,
        customer_id=customer_id,
        anonymous_id=anonymous_id,
        products=[p[:100] for p in product_id or []],
        k=k,
    )
    return JSONResponse(picked.to_json(), headers=CORS)


# Placement settings -------------------------------------------------------------------------


def _settings(session: SessionDep, workspace_id: str) -> dict[str, Any]:
    trained = serving.models_of(session, workspace_id)
    return {
        "placements": {
            name: placement.to_json()
            for name, placement in placements.placements_of(session, workspace_id).items()
        },
        "for_you_model": trained.for_you_name,
        "measured": trained.measured,
        "repeat_share": trained.repeat_share,
        "goes_with_strategy": trained.goes_with_name,
        "goes_with_measured": trained.goes_with_measured,
    }


@api.get("/recommendations/settings")
def get_placement_settings(owner: AdminDep, session: SessionDep) -> dict[str, Any]:
    """Each placement's strategy, repeats, pinned and banned products; the model ``for_you``
    uses and the strategy ``goes_with`` uses, and what each candidate measured (Recall@10,
    NDCG@10, customers scored) on the workspace's orders; ``repeat_share``, of the products
    customers bought next, those they had bought before (under 5%: no list shows a customer
    what they bought; null: too few customers to tell)."""
    return _settings(session, owner.workspace_id)


@api.put("/recommendations/settings")
def put_settings(
    owner: AdminDep, session: SessionDep, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Change some placements: ``{"placements": {"product": {"strategy": "similar", "banned":
    ["SKU"]}}}`` (every change checked first; audited)."""
    placements.set_placements(session, owner.workspace_id, body.get("placements", {}), actor="api")
    return _settings(session, owner.workspace_id)


def _settings_page(
    request: Request, session: SessionDep, member: Member, *, error: InvalidInput | None = None
) -> Response:
    found = _settings(session, member.workspace.id)
    return templating.page(
        request,
        "recommendations.html",
        member,
        status=422 if error is not None else 200,
        placements=found["placements"],
        strategies=placements.STRATEGIES,
        for_you=found["for_you_model"],
        repeat_share=found["repeat_share"],
        buys_again=buys_again(found["repeat_share"]),
        measured=sorted(found["measured"].items(), key=lambda kv: -kv[1]["recall"]),
        goes_with=found["goes_with_strategy"],
        goes_with_measured=sorted(
            found["goes_with_measured"].items(), key=lambda kv: -kv[1]["recall"]
        ),
        error=error,
    )


@pages.get("/w/{workspace_id}/recommendations")
def recommendations_page(request: Request, session: SessionDep, member: MemberDep) -> Response:
    """The placements' settings, and what each model measured on the store's own orders."""
    return _settings_page(request, session, member)


@pages.post("/w/{workspace_id}/recommendations")
def save_recommendations_page(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep
) -> Response:
    """Save every placement's settings from the form; the page again with the refusal."""
    changes: dict[str, Any] = {}
    for name in placements.PLACEMENTS:
        changes[name] = {
            "strategy": str(form.get(f"{name}.strategy", "")),
            "repeats": form.get(f"{name}.repeats") == "on",
            "pinned": _listed(form.get(f"{name}.pinned")),
            "banned": _listed(form.get(f"{name}.banned")),
        }
    try:
        placements.set_placements(session, member.workspace.id, changes, actor=member.user.email)
    except InvalidInput as exc:
        return _settings_page(request, session, member, error=exc)
    return templating.redirect(f"/w/{member.workspace.id}/recommendations")


def _listed(value: object) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]
