"""The merchant's FAQ: imported from CSV or Markdown, in French and English, and what the
assistant answers from it, with the source shown, or honestly nothing.

Files:

- CSV with a ``question`` and an ``answer`` column (``réponse`` also read), and optional
  ``lang`` (``langue``) and ``source`` columns; comma, semicolon or tab.
- Markdown: each ``## heading`` is a question, the text under it its answer; a last line
  ``Source: …`` gives the entry's source. A ``lang: fr`` line before the first question sets the
  language of the file (else each entry's language is guessed from its words).

An import replaces the workspace's entries of the languages it brings, in one audited action.

Matching: a question is read as its content words (stopwords out), each stemmed in French and
English; an entry matches on the words of its question (full weight) and of its answer (less),
each word weighted by its rarity among the entries (IDF). The best entry is the answer only when
it covers at least half of the question's weight: a question about something the FAQ does not
mention gets no answer rather than a wrong one. Entries in the reader's language come first.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from cxloop import csv_files, i18n, workspaces
from cxloop.assistant.models import FaqEntry
from cxloop.assistant.text import LANGS, STEMS, STOPWORDS, guess_lang, word_set, words
from cxloop.errors import InvalidInput

MAX_ENTRIES = 2000
MAX_QUESTION = 500
MAX_ANSWER = 5000
MAX_SOURCE = 300
COVERAGE = 0.5  # share of a question's weight an entry must match
ANSWER_WEIGHT = 0.6  # a word found only in the answer counts this much
RECHECK_SECONDS = 5.0

# Words of a question that say it is a question, not what it is about (folded).
QUESTION_WORDS = word_set(
    """
    comment quand combien quel quelle quels quelles pourquoi ou est-ce estce puis peut peux
    pouvez faut dois doit possible savoir sais connaitre
    how when what which why where who can may must should will does did there
    """
)


@dataclass(frozen=True)
class FaqRow:
    """An entry read from a file, before it is stored."""

    question: str
    answer: str
    lang: str
    source: str = ""


@dataclass(frozen=True)
class Match:
    """The entry that answers a question, and how much of the question it covers."""

    entry_id: int
    question: str
    answer: str
    source: str
    lang: str
    coverage: float


# Reading files --------------------------------------------------------------------------------


def _entry(question: str, answer: str, lang: str, source: str, where: str) -> FaqRow:
    question, answer, source = question.strip(), answer.strip(), source.strip()
    if not question or not answer:
        raise InvalidInput(where, i18n.gettext("a question and its answer are needed"))
    if len(question) > MAX_QUESTION:
        raise InvalidInput(
            where, i18n.gettext("a question of at most %(n)s characters") % {"n": MAX_QUESTION}
        )
    if len(answer) > MAX_ANSWER:
        raise InvalidInput(
            where, i18n.gettext("an answer of at most %(n)s characters") % {"n": MAX_ANSWER}
        )
    lang = lang.strip().lower()[:2] or guess_lang(f"{question} {answer}", "fr")
    if lang not in LANGS:
        raise InvalidInput(where, i18n.gettext("the language must be fr or en"))
    return FaqRow(question, answer, lang, source[:MAX_SOURCE])


def read_csv(text: str, where: str = "faq.csv") -> list[FaqRow]:
    """The entries of a CSV file's text."""
    first, rows = csv_files.records(text.lstrip("\ufeff").splitlines(), where)
    header = [name.strip().lower() for name in first]

    def column(*names: str) -> int | None:
        return next((header.index(n) for n in names if n in header), None)

    question, answer = column("question"), column("answer", "réponse", "reponse")
    if question is None or answer is None:
        raise InvalidInput(where, i18n.gettext("the header needs a question and an answer column"))
    lang, source = column("lang", "langue", "language"), column("source")
    found = [
        _entry(
            csv_files.cell(row, question),
            csv_files.cell(row, answer),
            csv_files.cell(row, lang),
            csv_files.cell(row, source),
            f"{where}:{line}",
        )
        for line, row in rows
    ]
    return _checked(found, where)


_HEADING = re.compile(r"^#{2,3}\s+(.+?)\s*#*\s*$")
_SOURCE = re.compile(r"^\s*(?:source|sources)\s*:\s*(.+)$", re.IGNORECASE)
_LANG = re.compile(r"^\s*(?:lang|langue|language)\s*:\s*([a-zA-Z]{2})\s*$")


def read_markdown(text: str, where: str = "faq.md") -> list[FaqRow]:
    """The entries of a Markdown file's text: ``## question`` then its answer."""
    lang = ""
    found: list[FaqRow] = []
    question: str | None = None
    start = 0
    body: list[str] = []
    source = ""

    def close() -> None:
        if question is not None:
            found.append(_entry(question, "\n".join(body), lang, source, f"{where}:{start}"))

    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        heading = _HEADING.match(line)
        if heading:
            close()
            question, start, body, source = heading.group(1), number, [], ""
            continue
        if question is None:
            chosen = _LANG.match(line)
            if chosen:
                lang = chosen.group(1).lower()
            continue
        cited = _SOURCE.match(line)
        if cited:
            source = cited.group(1)
            continue
        body.append(line)
    close()
    return _checked(found, where)


def _checked(rows: list[FaqRow], where: str) -> list[FaqRow]:
    if not rows:
        raise InvalidInput(where, i18n.gettext("no question found in the file"))
    if len(rows) > MAX_ENTRIES:
        raise InvalidInput(
            where, i18n.gettext("at most %(n)s questions per workspace") % {"n": MAX_ENTRIES}
        )
    return rows


def read_file(name: str, text: str) -> list[FaqRow]:
    """The entries of a file, read as CSV or Markdown from its name (``.csv``, ``.md``)."""
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return read_csv(text, name)
    if lowered.endswith((".md", ".markdown", ".txt")):
        return read_markdown(text, name)
    raise InvalidInput("file", i18n.gettext("a .csv or .md file"))


# Storing ----------------------------------------------------------------------------------------


def import_faq(
    session: Session, workspace_id: str, rows: Sequence[FaqRow], *, actor: str, source: str = ""
) -> int:
    """Replace the workspace's entries of the languages ``rows`` bring (audited); their count."""
    langs = sorted({row.lang for row in rows})
    session.execute(
        delete(FaqEntry).where(FaqEntry.workspace_id == workspace_id, FaqEntry.lang.in_(langs))
    )
    for row in rows:
        session.add(
            FaqEntry(
                workspace_id=workspace_id,
                lang=row.lang,
                question=row.question,
                answer=row.answer,
                source=row.source or source[:MAX_SOURCE],
            )
        )
    workspaces.audit(
        session,
        actor=actor,
        action="assistant.faq_imported",
        workspace_id=workspace_id,
        subject=",".join(langs),
        data={"entries": len(rows), "file": source[:200]},
    )
    session.flush()
    forget_faq(workspace_id)
    return len(rows)


def entries_of(session: Session, workspace_id: str) -> list[FaqEntry]:
    """The workspace's FAQ, in the order it was imported."""
    return list(
        session.scalars(
            select(FaqEntry).where(FaqEntry.workspace_id == workspace_id).order_by(FaqEntry.id)
        )
    )


# Matching ---------------------------------------------------------------------------------------


def _terms(text: str) -> set[str]:
    found: set[str] = set()
    for word in words(text):
        if word.text in STOPWORDS or word.text in QUESTION_WORDS or len(word.text) < 2:
            continue
        found.update(STEMS.both(word.text))
    return found


def _question_terms(text: str) -> list[tuple[str, ...]]:
    """A question's content words, each as its stems (a word matches by any of them)."""
    seen: set[str] = set()
    found: list[tuple[str, ...]] = []
    for word in words(text):
        if word.text in STOPWORDS or word.text in QUESTION_WORDS or len(word.text) < 2:
            continue
        if word.text not in seen:
            seen.add(word.text)
            found.append(STEMS.both(word.text))
    return found


@dataclass(frozen=True)
class _Indexed:
    entry_id: int
    question: str
    answer: str
    source: str
    lang: str
    question_terms: frozenset[str]
    answer_terms: frozenset[str]


class FaqIndex:
    """The workspace's entries, ready to answer questions."""

    def __init__(self, entries: Iterable[FaqEntry]) -> None:
        self.entries = [
            _Indexed(
                e.id,
                e.question,
                e.answer,
                e.source,
                e.lang,
                frozenset(_terms(e.question)),
                frozenset(_terms(e.answer)),
            )
            for e in entries
        ]
        documents: dict[str, int] = {}
        for entry in self.entries:
            for term in entry.question_terms | entry.answer_terms:
                documents[term] = documents.get(term, 0) + 1
        total = max(len(self.entries), 1)
        self._idf = {t: math.log(1 + total / n) for t, n in documents.items()}
        self._unknown = math.log(1 + total)  # a word no entry has weighs as the rarest

    def __len__(self) -> int:
        return len(self.entries)

    def answer(self, text: str, lang: str) -> Match | None:
        """The entry that answers ``text``, in ``lang`` first, or None."""
        terms = _question_terms(text)
        if not terms:
            return None
        for wanted in (lang, *(other for other in LANGS if other != lang)):
            best = self._best(terms, wanted)
            if best is not None:
                return best
        return None

    def _weight(self, stems: tuple[str, ...]) -> float:
        return max(self._idf.get(s, self._unknown) for s in stems)

    def _best(self, terms: list[tuple[str, ...]], lang: str) -> Match | None:
        total = sum(self._weight(stems) for stems in terms)
        best: tuple[float, _Indexed] | None = None
        for entry in self.entries:
            if entry.lang != lang:
                continue
            score = 0.0
            for stems in terms:
                if any(s in entry.question_terms for s in stems):
                    score += self._weight(stems)
                elif any(s in entry.answer_terms for s in stems):
                    score += self._weight(stems) * ANSWER_WEIGHT
            if best is None or score > best[0]:
                best = (score, entry)
        if best is None or total <= 0 or best[0] / total < COVERAGE:
            return None
        score, entry = best
        return Match(
            entry.entry_id,
            entry.question,
            entry.answer,
            entry.source,
            entry.lang,
            round(score / total, 3),
        )


@dataclass
class _Cached:
    stamp: tuple[object, ...]
    checked: float
    index: FaqIndex


_INDEXES: dict[str, _Cached] = {}
_LOCK = threading.Lock()


def faq_index(session: Session, workspace_id: str) -> FaqIndex:
    """The workspace's FAQ index, rebuilt when its entries change (checked every few seconds)."""
    now = time.monotonic()
    cached = _INDEXES.get(workspace_id)
    if cached is not None and now - cached.checked < RECHECK_SECONDS:
        return cached.index
    stamp = tuple(
        session.execute(
            select(func.count(), func.max(FaqEntry.id)).where(FaqEntry.workspace_id == workspace_id)
        ).one()
    )
    if cached is not None and cached.stamp == stamp:
        cached.checked = now
        return cached.index
    index = FaqIndex(entries_of(session, workspace_id))
    with _LOCK:
        _INDEXES[workspace_id] = _Cached(stamp, now, index)
    return index


def forget_faq(workspace_id: str) -> None:
    """Drop the workspace's cached FAQ index (the next question rebuilds it)."""
    _INDEXES.pop(workspace_id, None)
