"""Themes on answers: each workspace's taxonomy, its corrections, its model and re-tagging.

The tagger itself (lexicon, sentiment, learned blend) is ``cxloop.themes``; this
module keeps what belongs to a workspace in the store and applies it to answers:

- ``taxonomy_of`` / ``save_taxonomy``: the default taxonomy until the merchant saves their own
  (renamed, added, split or merged themes), versioned so taggers and re-tags follow changes;
  once saved, the history is re-tagged by a worker;
- ``correct``: a person sets a verbatim's themes; every correction is kept, and the workspace's
  linear model is retrained on them by a worker right after, so the next similar verbatims are
  tagged alike;
- ``tags_for``: called when an answer's text changes (surveys store the result); ``retag``:
  the whole history again, after the taxonomy or the model changed (answers a person
  corrected keep their themes).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from functools import partial
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cxloop import surveys
from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow
from cxloop.store.db import Database, after_commit
from cxloop.surveys import AnswerTags
from cxloop.themes.learned import LearnedModel
from cxloop.themes.learned import train_model as _train
from cxloop.themes.models import ThemeCorrection, ThemeModel, ThemeTaxonomy
from cxloop.themes.tagger import Tagger, Tagging
from cxloop.themes.taxonomy import Taxonomy, default_taxonomy
from cxloop.workspaces import audit

# The latest corrections a model learns from (older ones still count through the taxonomy).
MAX_EXAMPLES: Final = 5000
RETAG_BATCH: Final = 2000

# One tagger per workspace and version for the whole process (a Tagger can be shared between
# threads): building one takes about a second of CPU, once, not once per thread.
TaggerVersion = tuple[int, dt.datetime | None]
_taggers: dict[str, tuple[TaggerVersion, Tagger]] = {}
_building = threading.Lock()


def corrections_count(session: Session, workspace_id: str) -> int:
    """How many corrections the workspace's people made (the model's examples)."""
    return int(
        session.scalar(select(func.count()).where(ThemeCorrection.workspace_id == workspace_id))
        or 0
    )


def taxonomy_of(session: Session, workspace_id: str) -> Taxonomy:
    """The workspace's taxonomy: its own once saved, else the default one."""
    stored = session.get(ThemeTaxonomy, workspace_id)
    return Taxonomy.from_document(stored.document) if stored else default_taxonomy()


def save_taxonomy(
    session: Session, workspace_id: str, taxonomy: Taxonomy, *, actor: str
) -> ThemeTaxonomy:
    """Store the workspace's taxonomy (a new version); once committed, a worker re-tags the
    history (task ``feedback.retag``)."""
    stored = session.get(ThemeTaxonomy, workspace_id)
    document = taxonomy.model_dump(mode="json")
    if stored is None:
        stored = ThemeTaxonomy(workspace_id=workspace_id, document=document, version=1)
        session.add(stored)
    else:
        stored.document, stored.version = document, stored.version + 1
    stored.updated_at = utcnow()
    session.flush()
    audit(
        session,
        actor=actor,
        action="theme_taxonomy.saved",
        workspace_id=workspace_id,
        data={"version": stored.version, "themes": list(taxonomy.keys)},
    )
    after_commit(session, partial(_retag_in_worker, workspace_id))
    return stored


def _retag_in_worker(workspace_id: str) -> None:
    from cxloop.themes.tasks import feedback_retag  # here: the tasks module imports this one

    feedback_retag(workspace_id)


def _train_in_worker(workspace_id: str) -> None:
    from cxloop.themes.tasks import feedback_train  # here: the tasks module imports this one

    feedback_train(workspace_id)


def tagger_for(session: Session, workspace_id: str) -> Tagger:
    """The workspace's tagger: its taxonomy blended with its model (built once per version, for
    every thread of the process: building one takes about a second)."""
    stored = session.get(ThemeTaxonomy, workspace_id)
    model = session.get(ThemeModel, workspace_id)
    version: TaggerVersion = (0, None)
    if stored is None and model is None:
        workspace_id = ""  # every workspace on the defaults shares one
    else:
        version = (stored.version if stored else 0, model.trained_at if model else None)
    cached = _taggers.get(workspace_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    with _building:  # answers arriving together wait for one build, not one each
        cached = _taggers.get(workspace_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        taxonomy = Taxonomy.from_document(stored.document) if stored else default_taxonomy()
        learned = LearnedModel.from_json(model.model) if model and model.model else None
        tagger = Tagger(taxonomy, learned)
        if len(_taggers) > 50:
            _taggers.clear()
        _taggers[workspace_id] = (version, tagger)
        return tagger


def mentions_of(tagging: Tagging) -> list[dict[str, object]]:
    """What an answer stores of its mentions: one per theme, its mean sentiment."""
    per_theme: dict[str, list[float]] = {}
    for mention in tagging.mentions:
        per_theme.setdefault(mention.theme, []).append(mention.sentiment)
    return [
        {"theme": theme, "sentiment": round(sum(values) / len(values), 3)}
        for theme, values in per_theme.items()
    ]


def tags_for(session: Session, workspace_id: str, text: str) -> AnswerTags | None:
    """A verbatim's themes, sentiment and per-theme sentiment, with the workspace's taxonomy
    and corrections (None for an empty text)."""
    if not text:
        return None
    return _tags(tagger_for(session, workspace_id).tag(text))


def _tags(tagging: Tagging) -> AnswerTags:
    return AnswerTags(
        lang=tagging.lang,
        themes=list(tagging.themes),
        # In a language the tagger does not read, a sentiment of 0 would mean nothing.
        sentiment=round(tagging.sentiment, 3) if tagging.tagged else None,
        mentions=mentions_of(tagging),
    )


def correct(
    session: Session,
    workspace_id: str,
    response_id: int,
    themes: Sequence[str],
    *,
    actor: str,
) -> surveys.Response:
    """A person sets an answer's themes, kept as an example for the workspace's model.

    Once this has committed, a worker retrains the model (task ``feedback.train``): training
    takes from half a second to a few seconds as corrections pile up.
    """
    response = surveys.get_answer(session, workspace_id, response_id)
    if response is None:
        raise InvalidInput("response_id", f"no answer {response_id} in this workspace")
    text = surveys.answer_text(response)
    if not text:
        raise InvalidInput("response_id", "this answer has no text to tag")
    taxonomy = taxonomy_of(session, workspace_id)
    chosen: list[str] = []
    for i, key in enumerate(themes):
        resolved = taxonomy.resolve(key)
        if resolved is None:
            raise InvalidInput(f"themes[{i}]", f"unknown theme {key!r}")
        if resolved not in chosen:
            chosen.append(resolved)
    ordered = [key for key in taxonomy.keys if key in chosen]
    lang = response.locale if response.locale in ("fr", "en") else None
    session.add(
        ThemeCorrection(
            workspace_id=workspace_id,
            response_id=response.id,
            text=text,
            lang=lang or "",
            themes=ordered,
            actor=actor,
        )
    )
    surveys.set_corrected_themes(response, ordered)
    session.flush()
    audit(
        session,
        actor=actor,
        action="response.themes_corrected",
        workspace_id=workspace_id,
        subject=f"response:{response.id}",
        data={"themes": ordered},
    )
    after_commit(session, partial(_train_in_worker, workspace_id))
    return response


def train(session: Session, workspace_id: str, taxonomy: Taxonomy | None = None) -> ThemeModel:
    """Retrain the workspace's model on its latest corrections (one example per answer)."""
    taxonomy = taxonomy or taxonomy_of(session, workspace_id)
    rows = session.execute(
        select(ThemeCorrection.response_id, ThemeCorrection.text, ThemeCorrection.lang,
               ThemeCorrection.themes)
        .where(ThemeCorrection.workspace_id == workspace_id)
        .order_by(ThemeCorrection.created_at.desc(), ThemeCorrection.id.desc())
        .limit(MAX_EXAMPLES)
    ).all()  # fmt: skip
    seen: set[int] = set()
    examples: list[tuple[str, str | None, list[str]]] = []
    for response_id, text, lang, themes in rows:
        if response_id is not None and response_id in seen:
            continue  # only the latest say on an answer counts
        if response_id is not None:
            seen.add(response_id)
        known = [k for k in (taxonomy.resolve(t) for t in themes) if k is not None]
        examples.append((text, lang or None, known))
    model = session.get(ThemeModel, workspace_id)
    learned = _train(taxonomy, examples).to_json()
    if model is None:
        model = ThemeModel(workspace_id=workspace_id)
        session.add(model)
    model.model, model.examples, model.trained_at = learned, len(examples), utcnow()
    session.flush()
    return model


def retag(session: Session, workspace_id: str, *, after_id: int = 0) -> tuple[int, int | None]:
    """Re-tag one batch of the workspace's answers with text, from ``after_id`` on.

    Returns (answers re-tagged, the id to continue after, or None when done): resumable, so a
    worker commits batch by batch. Answers whose themes a person corrected are left alone.
    """
    tagger = tagger_for(session, workspace_id)
    batch = surveys.answers_with_text(session, workspace_id, after_id=after_id, limit=RETAG_BATCH)
    taxonomy = tagger.taxonomy
    for response in batch:
        if response.themes_corrected:
            # A person's themes stay; a renamed or merged key follows the taxonomy.
            resolved = {taxonomy.resolve(key) for key in response.themes or []}
            surveys.set_corrected_themes(response, [k for k in taxonomy.keys if k in resolved])
    fresh = [response for response in batch if not response.themes_corrected]
    texts = map(surveys.answer_text, fresh)
    for response, tagging in zip(fresh, tagger.tag_many(texts), strict=True):
        surveys.set_answer_tags(response, _tags(tagging))
    session.flush()
    return len(fresh), (batch[-1].id if len(batch) == RETAG_BATCH else None)


def retag_all(db: Database, workspace_id: str) -> int:
    """Re-tag every answer of the workspace, one committed batch at a time; returns the count."""
    done, after = 0, 0
    while True:
        with db.session() as session:
            count, last = retag(session, workspace_id, after_id=after)
        done += count
        if last is None:
            return done
        after = last


__all__ = [
    "correct",
    "corrections_count",
    "mentions_of",
    "retag",
    "retag_all",
    "save_taxonomy",
    "tagger_for",
    "tags_for",
    "taxonomy_of",
    "train",
]
