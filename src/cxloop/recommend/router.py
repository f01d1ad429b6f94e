"""Recommendations over HTTP: the store's pages ask for a placement's list with the write key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse

from cxloop import profiles
from cxloop.recommend import serving
from cxloop.web.deps import SessionDep, write_key_workspace

CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}

public = APIRouter(prefix="/p/v1", tags=["personalization"])
routers = (public,)


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
    """The products to show on ``placement`` (home, product, cart, email, assistant) for the
    customer (``user_id``) or visitor (``anonymous_id``) next to ``product_id`` (repeatable:
    a cart's products)."""
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
        products=[p[:100] for p in product_id or []],
        k=k,
    )
    return JSONResponse(picked.to_json(), headers=CORS)
