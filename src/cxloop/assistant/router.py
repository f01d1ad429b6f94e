"""The assistant over HTTP: the widget's API (write key), the admin API's catalog search, and
the console's conversation inbox where agents answer the conversations handed to them."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from cxloop import i18n, inputs, profiles
from cxloop.assistant import (
    faq,
    insights,
    options,
    scenario_store,
    scenarios,
    service,
    vocabulary,
)
from cxloop.assistant.catalog import search_catalog
from cxloop.assistant.intents import INTENTS
from cxloop.assistant.models import COMPENSATION_KINDS, CONVERSATION_STATUSES
from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow
from cxloop.web import templating
from cxloop.web.deps import (
    AdminDep,
    CsrfFormDep,
    EditorDep,
    Member,
    MemberDep,
    SessionDep,
    cors_preflight,
    write_key_workspace,
)
from cxloop.web.limits import WIDGET_LIMITS

CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
MAX_FAQ_BYTES = 1_000_000

public = APIRouter(prefix="/assistant/v1", tags=["assistant"])


def _refused(field: str, message: str, status: int = 401) -> InvalidInput:
    code = "unauthorized" if status == 401 else "invalid"
    return InvalidInput(field, message, status=status, code=code, headers=CORS)


def _workspace_of(request: Request, body_key: object, authorization: str | None) -> str:
    """The workspace of the write key: Basic-auth user name, else ``writeKey``."""
    return write_key_workspace(request, body_key, authorization, CORS)


def _text(value: object, field: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _refused(field, "must be a string", status=422)
    try:
        return inputs.text(value, field, limit)
    except InvalidInput as exc:
        raise _refused(field, exc.message, status=422) from None


def _payload(value: object) -> dict[str, Any] | None:
    """A button's payload: ``{"intent": "human"}``, ``{"set": {facet: value}}`` or a
    scenario's answer ``{"slot": {"name": …, "value": …}}``."""
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > 4:
        raise _refused("payload", "must be a button's payload object", status=422)
    found: dict[str, Any] = {}
    if "intent" in value:
        if value["intent"] not in ("human", "complements"):
            raise _refused("payload.intent", "'human' or 'complements'", status=422)
        found["intent"] = value["intent"]
    if "nps" in value:
        score = value["nps"]
        if score != "skip" and (
            not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 10
        ):
            raise _refused("payload.nps", "a score from 0 to 10, or 'skip'", status=422)
        found["nps"] = score
    if "set" in value:
        chosen = value["set"]
        if not isinstance(chosen, dict) or len(chosen) > 4:
            raise _refused("payload.set", "must be an object", status=422)
        clean: dict[str, Any] = {}
        for name, item in chosen.items():
            if name in ("min_price", "max_price"):
                if not isinstance(item, int) or isinstance(item, bool) or not 0 <= item < 10**9:
                    raise _refused(f"payload.set.{name}", "an amount in cents", status=422)
            elif name in ("facet", "category", "color", "size", "gender", "age_group", "brand"):
                if not isinstance(item, str) or len(item) > 100:
                    raise _refused(f"payload.set.{name}", "a text of 100 characters", status=422)
            else:
                raise _refused(f"payload.set.{name}", "unknown filter", status=422)
            clean[name] = item
        found["set"] = clean
    if "slot" in value:
        slot = value["slot"]
        if not isinstance(slot, dict) or set(slot) != {"name", "value"}:
            raise _refused("payload.slot", "must be {name, value}", status=422)
        name, item = slot["name"], slot["value"]
        if not isinstance(name, str) or not 0 < len(name) <= 40:
            raise _refused("payload.slot.name", "a text of 40 characters", status=422)
        if not isinstance(item, str) or len(item) > 200:
            raise _refused("payload.slot.value", "a text of 200 characters", status=422)
        found["slot"] = {"name": name, "value": item}
    return found or None


@public.post("/conversations", status_code=201, dependencies=WIDGET_LIMITS)
def start(
    request: Request,
    body: Annotated[dict[str, Any], Body()],
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Start a conversation: ``anonymousId`` (the visitor), optional ``userId``, ``locale``
    (the page's language), ``pageUrl`` and a first message ``text``. Answers with the
    conversation's id and its first messages."""
    workspace_id = _workspace_of(request, body.get("writeKey"), authorization)
    locale = _text(body.get("locale"), "locale", 16)
    with request.app.state.db.session() as session:
        exchange = service.start_conversation(
            session,
            workspace_id,
            anonymous_id=_text(body.get("anonymousId"), "anonymousId", 200),
            user_id=_text(body.get("userId"), "userId", 200) or None,
            locale=locale or None,
            page_url=_text(body.get("pageUrl"), "pageUrl", 500),
            text=_text(body.get("text"), "text", service.MAX_TEXT),
        ).to_json()
    return JSONResponse(_phrased(request, workspace_id, exchange), status_code=201, headers=CORS)


def _phrased(request: Request, workspace_id: str, exchange: dict[str, Any]) -> dict[str, Any]:
    """The exchange reworded by the language model when one is configured (after commit)."""
    client = getattr(request.app.state, "llm", None)
    if client is None:
        return exchange
    return service.rephrase(request.app.state.db, workspace_id, exchange, client)


@public.post("/conversations/{conversation_id}/messages", dependencies=WIDGET_LIMITS)
def post_message(
    request: Request,
    conversation_id: Annotated[str, Path(max_length=32)],
    body: Annotated[dict[str, Any], Body()],
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """A shopper's message (``text``, or a button's ``payload`` with its label as ``text``);
    answers with the messages added: the shopper's and the assistant's reply (none while a
    person has the conversation)."""
    workspace_id = _workspace_of(request, body.get("writeKey"), authorization)
    text = _text(body.get("text"), "text", service.MAX_TEXT)
    payload = _payload(body.get("payload"))
    client = getattr(request.app.state, "llm", None)
    # The language model's reading, asked before the transaction (no network call inside one).
    hint = client.read_intent(text, INTENTS) if client is not None and not payload else None
    with request.app.state.db.session() as session:
        exchange = service.post_message(
            session,
            workspace_id,
            conversation_id,
            text=text,
            payload=payload,
            intent_hint=hint,
        ).to_json()
    return JSONResponse(_phrased(request, workspace_id, exchange), headers=CORS)


@public.get("/conversations/{conversation_id}/messages")
def read_messages(
    request: Request,
    session: SessionDep,
    conversation_id: Annotated[str, Path(max_length=32)],
    write_key: Annotated[str | None, Query(alias="writeKey", max_length=200)] = None,
    after: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """The messages after ``after`` (the widget polls it for the team's replies)."""
    workspace_id = _workspace_of(request, write_key, authorization)
    exchange = service.messages_after(session, workspace_id, conversation_id, after)
    return JSONResponse(exchange.to_json(), headers=CORS)


@public.post("/conversations/{conversation_id}/clicks", status_code=204)
async def product_clicked(
    request: Request,
    conversation_id: Annotated[str, Path(max_length=32)],
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """A product card was clicked: ``{"writeKey", "product"}``, sent as text by the widget's
    ``sendBeacon`` (a simple request, no preflight)."""
    raw = await inputs.capped_body(request, 4096)
    body = inputs.json_document(raw)
    if not isinstance(body, dict):
        raise _refused("body", "must be a JSON object", status=422)
    workspace_id = _workspace_of(request, body.get("writeKey"), authorization)
    product = _text(body.get("product"), "product", 100)
    with request.app.state.db.session() as session:
        service.record_click(session, workspace_id, conversation_id, product)
    return Response(status_code=204, headers=CORS)


@public.options("/conversations", include_in_schema=False)
@public.options("/conversations/{conversation_id}/clicks", include_in_schema=False)
@public.options("/conversations/{conversation_id}/messages", include_in_schema=False)
def preflight() -> Response:
    """CORS preflight for the widget's calls."""
    return cors_preflight(CORS)


# The admin API -----------------------------------------------------------------------------

api = APIRouter(prefix="/api/v1", tags=["admin"])


class CatalogSearch(BaseModel):
    """A catalog search as a shopper types it."""

    query: str = Field(min_length=1, max_length=500)
    limit: int = Field(default=10, ge=1, le=100)
    in_stock: bool = False


@api.post("/catalog/search")
def catalog_search(owner: AdminDep, session: SessionDep, body: CatalogSearch) -> dict[str, Any]:
    """The catalog searched as the assistant does: ``{"filters", "products"}``."""
    result = search_catalog(
        session, owner.workspace_id, body.query, limit=body.limit, in_stock=body.in_stock
    )
    return result.to_json()


class FaqImport(BaseModel):
    """A FAQ file's content: CSV (question,answer[,lang][,source]) or Markdown (## question)."""

    format: Literal["csv", "markdown"]
    content: str = Field(min_length=1, max_length=MAX_FAQ_BYTES)
    source: str = Field(default="", max_length=300)


@api.put("/assistant/faq")
def faq_import(owner: AdminDep, session: SessionDep, body: FaqImport) -> dict[str, Any]:
    """Import the FAQ: replaces the entries of the languages the file brings."""
    name = "faq.csv" if body.format == "csv" else "faq.md"
    rows = faq.read_file(name, body.content)
    count = faq.import_faq(
        session, owner.workspace_id, rows, actor="api", source=body.source or name
    )
    return {"imported": count, "languages": sorted({row.lang for row in rows})}


@api.get("/assistant/faq")
def faq_list(owner: AdminDep, session: SessionDep) -> dict[str, Any]:
    """The workspace's FAQ entries."""
    return {
        "entries": [
            {
                "id": e.id,
                "lang": e.lang,
                "question": e.question,
                "answer": e.answer,
                "source": e.source,
            }
            for e in faq.entries_of(session, owner.workspace_id)
        ]
    }


class AssistantOptions(BaseModel):
    """The assistant's settings (see ``options.Options``)."""

    ticket_url: str = Field(default="", max_length=500)
    nps_in_chat: bool = True
    compensation_kind: Literal["", "percent", "fixed", "free_shipping"] = ""
    compensation_value: float = Field(default=0.0, ge=0)
    compensation_days: int = Field(default=30, ge=1, le=365)
    compensations_per_day: int = Field(default=20, ge=0, le=10_000)


@api.get("/assistant/settings")
def settings_get(owner: AdminDep, session: SessionDep) -> dict[str, Any]:
    """The assistant's settings."""
    return options.options_of(session, owner.workspace_id).to_json()


@api.put("/assistant/settings")
def settings_put(owner: AdminDep, session: SessionDep, body: AssistantOptions) -> dict[str, Any]:
    """Change the assistant's settings (audited)."""
    saved = options.save_options(
        session, owner.workspace_id, options.Options(**body.model_dump()), actor="api"
    )
    return saved.to_json()


class Vocabulary(BaseModel):
    """The workspace's synonym groups and intent examples (each replaced whole when given)."""

    synonyms: list[list[str]] | None = Field(default=None, max_length=vocabulary.MAX_GROUPS)
    examples: list[tuple[str, str]] | None = Field(default=None, max_length=vocabulary.MAX_EXAMPLES)


def _vocabulary(session: Session, workspace_id: str) -> dict[str, Any]:
    return {
        "synonyms": vocabulary.synonyms_of(session, workspace_id),
        "examples": [list(pair) for pair in vocabulary.examples_of(session, workspace_id)],
    }


@api.get("/assistant/vocabulary")
def vocabulary_get(owner: AdminDep, session: SessionDep) -> dict[str, Any]:
    """The workspace's synonym groups and intent examples."""
    return _vocabulary(session, owner.workspace_id)


@api.put("/assistant/vocabulary")
def vocabulary_put(owner: AdminDep, session: SessionDep, body: Vocabulary) -> dict[str, Any]:
    """Replace the synonym groups, the intent examples, or both (audited)."""
    groups = vocabulary.checked_groups(body.synonyms) if body.synonyms is not None else None
    examples = vocabulary.checked_examples(body.examples) if body.examples is not None else None
    if groups is not None:
        vocabulary.set_synonyms(session, owner.workspace_id, groups, actor="api")
    if examples is not None:
        vocabulary.set_examples(session, owner.workspace_id, examples, actor="api")
    return _vocabulary(session, owner.workspace_id)


# The console -------------------------------------------------------------------------------

pages = APIRouter(include_in_schema=False)
routers = (public, api, pages)


@pages.get("/w/{workspace_id}/conversations")
def conversations_page(
    request: Request,
    session: SessionDep,
    member: MemberDep,
    status: Annotated[Literal["open", "handoff", "closed", ""], Query()] = "",
) -> Response:
    """The inbox: conversations waiting for a person first, then the newest."""
    rows = service.inbox(session, member.workspace.id, status=status or None)
    people = profiles.customers_by_id(session, [c.customer_id for c in rows if c.customer_id])
    return templating.page(
        request,
        "conversations.html",
        member,
        rows=rows,
        people=people,
        statuses=CONVERSATION_STATUSES,
        status_filter=status,
    )


@pages.get("/w/{workspace_id}/conversations/{conversation_id}")
def conversation_page(
    request: Request,
    session: SessionDep,
    member: MemberDep,
    conversation_id: Annotated[str, Path(max_length=32)],
) -> Response:
    """One conversation: its messages, and the form to answer the shopper."""
    try:
        conversation = service.get_conversation(session, member.workspace.id, conversation_id)
    except InvalidInput:
        raise member.not_found() from None
    person = (
        profiles.get_customer(session, member.workspace.id, conversation.customer_id)
        if conversation.customer_id
        else None
    )
    return templating.page(
        request,
        "conversation.html",
        member,
        conversation=conversation,
        messages=service.transcript(session, conversation),
        person=person,
    )


@pages.post("/w/{workspace_id}/conversations/{conversation_id}")
def conversation_action(
    request: Request,
    session: SessionDep,
    form: CsrfFormDep,
    member: MemberDep,
    conversation_id: Annotated[str, Path(max_length=32)],
) -> Response:
    """Answer the shopper (any member: agents answer), or close the conversation."""
    try:
        service.get_conversation(session, member.workspace.id, conversation_id)
    except InvalidInput:
        raise member.not_found() from None
    actor = member.user.email
    if form.get("action") == "close":
        service.close_conversation(session, member.workspace.id, conversation_id, actor=actor)
    else:
        text = str(form.get("text", ""))
        with i18n.speaking(member.user.locale):
            service.agent_reply(
                session, member.workspace.id, conversation_id, text=text, actor=actor
            )
    return templating.redirect(f"/w/{member.workspace.id}/conversations/{conversation_id}")


@pages.get("/w/{workspace_id}/assistant/faq")
def faq_page(
    request: Request,
    session: SessionDep,
    member: MemberDep,
) -> Response:
    """The assistant's FAQ: its entries, and the form to import a file."""
    return _faq_page(request, session, member)


def _faq_page(
    request: Request, session: Session, member: Member, error: InvalidInput | None = None
) -> Response:
    return templating.page(
        request,
        "assistant_faq.html",
        member,
        422 if error else 200,
        entries=faq.entries_of(session, member.workspace.id),
        error=error,
    )


@pages.post("/w/{workspace_id}/assistant/faq")
def faq_upload(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep
) -> Response:
    """Import a FAQ file (CSV or Markdown); its errors are shown on the page."""
    upload = form.get("file")
    try:
        if isinstance(upload, str) or upload is None or not upload.filename:
            raise InvalidInput("file", i18n.gettext("choose a .csv or .md file"))
        with upload.file:
            raw = upload.file.read(MAX_FAQ_BYTES + 1)
        if len(raw) > MAX_FAQ_BYTES:
            raise InvalidInput("file", i18n.gettext("a file of at most 1 MB"))
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput("file", i18n.gettext("not UTF-8 text")) from None
        rows = faq.read_file(upload.filename, text)
    except InvalidInput as exc:
        return _faq_page(request, session, member, exc)
    faq.import_faq(
        session, member.workspace.id, rows, actor=member.user.email, source=upload.filename
    )
    return templating.redirect(f"/w/{member.workspace.id}/assistant/faq")


@pages.get("/w/{workspace_id}/assistant/vocabulary")
def vocabulary_page(request: Request, session: SessionDep, member: MemberDep) -> Response:
    """The workspace's synonyms and intent examples, as text to edit."""
    return _vocabulary_page(request, session, member)


def _vocabulary_page(
    request: Request,
    session: Session,
    member: Member,
    error: InvalidInput | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    workspace_id = member.workspace.id
    shown = typed or {
        "synonyms": "\n".join(", ".join(g) for g in vocabulary.synonyms_of(session, workspace_id)),
        "examples": "\n".join(
            f"{intent}: {text}" for intent, text in vocabulary.examples_of(session, workspace_id)
        ),
    }
    return templating.page(
        request,
        "assistant_vocabulary.html",
        member,
        422 if error else 200,
        shown=shown,
        intents=INTENTS,
        error=error,
    )


@pages.post("/w/{workspace_id}/assistant/vocabulary")
def vocabulary_save(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep
) -> Response:
    """Save the synonyms and the examples; a refused line is shown with the text kept."""
    typed = {
        "synonyms": str(form.get("synonyms", "") or "")[:100_000],
        "examples": str(form.get("examples", "") or "")[:200_000],
    }
    try:
        # Both checked before either is written: nothing half-saved.
        groups = vocabulary.checked_groups(vocabulary.groups_from_text(typed["synonyms"]))
        examples = vocabulary.checked_examples(vocabulary.examples_from_text(typed["examples"]))
    except InvalidInput as exc:
        return _vocabulary_page(request, session, member, exc, typed)
    actor = member.user.email
    vocabulary.set_synonyms(session, member.workspace.id, groups, actor=actor)
    vocabulary.set_examples(session, member.workspace.id, examples, actor=actor)
    return templating.redirect(f"/w/{member.workspace.id}/assistant/vocabulary")


@pages.get("/w/{workspace_id}/assistant/settings")
def settings_page(request: Request, session: SessionDep, member: MemberDep) -> Response:
    """The assistant's settings: tickets on handoff, NPS in conversation, compensation."""
    return _settings_page(request, session, member)


def _settings_page(
    request: Request, session: Session, member: Member, error: InvalidInput | None = None
) -> Response:
    return templating.page(
        request,
        "assistant_settings.html",
        member,
        422 if error else 200,
        options=options.options_of(session, member.workspace.id),
        kinds=COMPENSATION_KINDS,
        error=error,
    )


@pages.post("/w/{workspace_id}/assistant/settings")
def settings_save(
    request: Request, session: SessionDep, form: CsrfFormDep, member: EditorDep
) -> Response:
    """Save the assistant's settings; a refused value is shown next to its field."""

    def number(name: str, default: float) -> float:
        raw = str(form.get(name, "") or "").strip().replace(",", ".")
        try:
            return float(raw) if raw else default
        except ValueError:
            raise InvalidInput(name, i18n.gettext("a number")) from None

    try:
        wanted = options.Options(
            ticket_url=str(form.get("ticket_url", "") or "")[:500],
            nps_in_chat=form.get("nps_in_chat") == "on",
            compensation_kind=str(form.get("compensation_kind", "") or ""),
            compensation_value=number("compensation_value", 0.0),
            compensation_days=int(number("compensation_days", 30)),
            compensations_per_day=int(number("compensations_per_day", 20)),
        )
        options.save_options(session, member.workspace.id, wanted, actor=member.user.email)
    except InvalidInput as exc:
        return _settings_page(request, session, member, exc)
    return templating.redirect(f"/w/{member.workspace.id}/assistant/settings")


PERIOD_DAYS = (7, 30, 90)


@pages.get("/w/{workspace_id}/assistant")
def assistant_page(
    request: Request, session: SessionDep, member: MemberDep, days: str = "30"
) -> Response:
    """The assistant's figures over the last 7, 30 or 90 days (today included)."""
    span = int(days) if days in {str(d) for d in PERIOD_DAYS} else 30
    now = utcnow()
    first = now.date() - dt.timedelta(days=span - 1)
    since = dt.datetime(first.year, first.month, first.day, tzinfo=dt.UTC)
    figures = insights.assistant_figures(session, member.workspace.id, since=since, until=now)
    return templating.page(
        request,
        "assistant_insights.html",
        member,
        figures=figures,
        days=span,
        periods=PERIOD_DAYS,
        window_days=insights.CONVERSION_WINDOW.days,
    )


# The console: scenarios -------------------------------------------------------------------


def _scenarios_url(member: Member, key: str = "") -> str:
    base = f"/w/{member.workspace.id}/assistant/scenarios"
    return f"{base}/{key}" if key else base


@pages.get("/w/{workspace_id}/assistant/scenarios")
def scenarios_page(
    request: Request,
    session: SessionDep,
    member: MemberDep,
    new: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """The workspace's scenarios: built-in or its own, switched on or off; ``new`` opens the
    editor on a new key."""
    if new and member.can_edit and scenarios.KEY.match(new.strip()):
        return templating.redirect(_scenarios_url(member, new.strip()))
    return templating.page(
        request,
        "assistant_scenarios.html",
        member,
        entries=scenario_store.entries(session, member.workspace.id),
        lang=i18n.current_locale.get(),
        new_error=bool(new),
    )


def _starter(key: str) -> str:
    """The YAML a new scenario starts from (it validates as it is)."""
    phrase = key.replace("_", " ")
    return (
        f"key: {key}\n"
        'name: {fr: "Nouveau scénario", en: "New scenario"}\n'
        "trigger:\n"
        f'  phrases: ["{phrase}"]\n'
        "steps:\n"
        "  - id: hello\n"
        '    say: {fr: "Bonjour !", en: "Hello!"}\n'
    )


def _scenario_page(
    request: Request,
    member: Member,
    key: str,
    entry: scenario_store.Entry | None,
    *,
    source: str | None = None,
    error: InvalidInput | None = None,
    checked: bool = False,
    saved: bool = False,
) -> Response:
    return templating.page(
        request,
        "assistant_scenario.html",
        member,
        status=error.status if error is not None else 200,
        key=key,
        entry=entry,
        lang=i18n.current_locale.get(),
        source=source if source is not None else entry.source if entry else _starter(key),
        error=f"{error.field}: {error.message}" if error is not None else "",
        checked=checked,
        saved=saved,
    )


@pages.get("/w/{workspace_id}/assistant/scenarios/{key}")
def scenario_page(
    request: Request,
    session: SessionDep,
    member: MemberDep,
    key: Annotated[str, Path(max_length=40)],
    saved: Annotated[str, Query(max_length=1)] = "",
) -> Response:
    """One scenario's YAML, to read, check and save (editors); a new key starts a scenario."""
    entry = scenario_store.entry(session, member.workspace.id, key)
    if entry is None and (not member.can_edit or not scenarios.KEY.match(key)):
        raise member.not_found()
    return _scenario_page(request, member, key, entry, saved=saved == "1")


@pages.post("/w/{workspace_id}/assistant/scenarios/{key}")
def scenario_action(
    request: Request,
    session: SessionDep,
    form: CsrfFormDep,
    member: EditorDep,
    key: Annotated[str, Path(max_length=40)],
) -> Response:
    """Check or save the YAML, switch the scenario on or off, or reset it to the built-in."""
    workspace_id = member.workspace.id
    if not scenarios.KEY.match(key):
        raise member.not_found()
    action = str(form.get("action", "save"))
    actor = member.user.email
    entry = scenario_store.entry(session, workspace_id, key)
    if action in ("enable", "disable", "reset"):
        if entry is None:
            raise member.not_found()
        if action == "reset":
            scenario_store.reset_scenario(session, workspace_id, key, actor=actor)
        else:
            scenario_store.set_enabled(session, workspace_id, key, action == "enable", actor=actor)
        return templating.redirect(_scenarios_url(member))
    source = str(form.get("source", "")).replace("\r\n", "\n")
    try:
        if action == "validate":
            scenario = scenarios.parse(source)
            if scenario.key != key:
                raise InvalidInput("key", i18n.gettext("the key cannot change here"))
        else:
            scenario_store.save_scenario(session, workspace_id, key, source, actor=actor)
    except InvalidInput as exc:  # refused before anything is written
        return _scenario_page(request, member, key, entry, source=source, error=exc)
    if action == "validate":
        return _scenario_page(request, member, key, entry, source=source, checked=True)
    return templating.redirect(_scenarios_url(member, key) + "?saved=1")
