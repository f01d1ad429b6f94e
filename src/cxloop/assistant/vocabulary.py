"""A workspace's own words for its assistant: synonym groups for the catalog search (« basket,
sneaker, tennis ») and example phrases for the intents (« c'est pour offrir » → search).

Each is replaced whole, in one audited action; the catalog index and the intent model see the
change at their next check (the index's stamp counts the synonym groups, the model is keyed by
the examples)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cxloop import i18n, workspaces
from cxloop.assistant.catalog import forget_index, synonym_groups
from cxloop.assistant.intents import INTENTS
from cxloop.assistant.models import IntentExample, SynonymGroup
from cxloop.assistant.text import words
from cxloop.errors import InvalidInput

MAX_GROUPS = 500
MAX_WORDS = 20
MAX_EXAMPLES = 2000


def synonyms_of(session: Session, workspace_id: str) -> list[list[str]]:
    """The workspace's synonym groups, oldest first."""
    return synonym_groups(session, workspace_id)


def examples_of(session: Session, workspace_id: str) -> list[tuple[str, str]]:
    """The workspace's intent examples: (intent, phrase), oldest first."""
    rows = session.execute(
        select(IntentExample.intent, IntentExample.text)
        .where(IntentExample.workspace_id == workspace_id)
        .order_by(IntentExample.id)
    )
    return [(intent, text) for intent, text in rows]


def checked_groups(groups: Sequence[Sequence[str]]) -> list[list[str]]:
    """Synonym groups cleaned (lower case, single spaces), else ``InvalidInput`` naming one."""
    if len(groups) > MAX_GROUPS:
        raise InvalidInput("synonyms", i18n.gettext("at most %(n)s groups") % {"n": MAX_GROUPS})
    found: list[list[str]] = []
    for number, group in enumerate(groups):
        field = f"synonyms[{number}]"
        cleaned = [" ".join(str(word).split()).lower() for word in group]
        cleaned = list(dict.fromkeys(w for w in cleaned if w))
        if not 2 <= len(cleaned) <= MAX_WORDS:
            raise InvalidInput(
                field, i18n.gettext("from 2 to %(n)s words or phrases") % {"n": MAX_WORDS}
            )
        if any(len(w) > 60 or not words(w) for w in cleaned):
            raise InvalidInput(field, i18n.gettext("words of 1 to 60 characters"))
        found.append(cleaned)
    return found


def checked_examples(examples: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Intent examples cleaned, else ``InvalidInput`` naming the one at fault."""
    if len(examples) > MAX_EXAMPLES:
        raise InvalidInput("examples", i18n.gettext("at most %(n)s examples") % {"n": MAX_EXAMPLES})
    found: list[tuple[str, str]] = []
    for number, (intent, text) in enumerate(examples):
        field = f"examples[{number}]"
        if intent not in INTENTS:
            raise InvalidInput(
                f"{field}.intent",
                i18n.gettext("one of %(names)s") % {"names": ", ".join(INTENTS)},
            )
        phrase = " ".join(text.split())
        if not 1 <= len(phrase) <= 500:
            raise InvalidInput(f"{field}.text", i18n.gettext("a phrase of 1 to 500 characters"))
        found.append((intent, phrase))
    return list(dict.fromkeys(found))


def set_synonyms(
    session: Session, workspace_id: str, groups: Sequence[Sequence[str]], *, actor: str
) -> list[list[str]]:
    """Replace the workspace's synonym groups (checked, audited)."""
    cleaned = checked_groups(groups)
    session.execute(delete(SynonymGroup).where(SynonymGroup.workspace_id == workspace_id))
    session.add_all(SynonymGroup(workspace_id=workspace_id, words=group) for group in cleaned)
    workspaces.audit(
        session,
        actor=actor,
        action="assistant.synonyms",
        workspace_id=workspace_id,
        subject=workspace_id,
        data={"groups": len(cleaned)},
    )
    session.flush()
    forget_index(workspace_id)
    return cleaned


def set_examples(
    session: Session, workspace_id: str, examples: Sequence[tuple[str, str]], *, actor: str
) -> list[tuple[str, str]]:
    """Replace the workspace's intent examples (checked, audited)."""
    cleaned = checked_examples(examples)
    session.execute(delete(IntentExample).where(IntentExample.workspace_id == workspace_id))
    session.add_all(
        IntentExample(workspace_id=workspace_id, intent=intent, text=text)
        for intent, text in cleaned
    )
    workspaces.audit(
        session,
        actor=actor,
        action="assistant.examples",
        workspace_id=workspace_id,
        subject=workspace_id,
        data={"examples": len(cleaned)},
    )
    session.flush()
    return cleaned


def groups_from_text(text: str) -> list[list[str]]:
    """Synonym groups as the console writes them: one group a line, words between commas."""
    return [line.split(",") for line in text.splitlines() if line.strip()]


def examples_from_text(text: str) -> list[tuple[str, str]]:
    """Examples as the console writes them: ``intent: phrase``, one a line."""
    found: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines()):
        if not line.strip():
            continue
        intent, colon, phrase = line.partition(":")
        if not colon:
            raise InvalidInput(f"examples[{number}]", i18n.gettext("a line « intent: phrase »"))
        found.append((intent.strip(), phrase.strip()))
    return found
