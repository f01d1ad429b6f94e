"""The built-in lexicon of the default themes: how customers name each topic, in fr and en.

Written from the way people write reviews (Trustpilot, Avis Vérifiés, Amazon, NPS "why this
score?" answers): plain words, carriers' names, informal and SMS phrasing. A merchant sees the
readable seeds of the taxonomy; this richer list stays behind the default keys. The phrases
live in data files, one per theme and language (``data/fr/lexicon/delivery_delay.yaml``), with
the named lists they include (``data/fr/lists.yaml``) and the phrases that name two themes at
once (``data/fr/shared.yaml``); ``data/README.md`` explains how to edit them.

Each phrase is matched on stemmed keys (see ``text.py``), so one form per word is enough
("livré" also finds "livrée", "livrés", "livre"). Between the words of a phrase, function
words and intensifiers may stand ("frais de port" finds "frais de ports", "livraison trop
chère" matches "livraison chère"); a ``…`` allows up to two other words there as well
("took … ages" finds "took literally ages"). Phrases never cross a clause.

Six kinds of entries per theme and language:

- ``topic``: names the theme on its own ("livraison", "refund").
- ``hint``: points at the theme unless a topic of another theme stands right beside it
  ("rapide" is delivery, but "SAV rapide" is customer service).
- ``aside``: an event or a circumstance that points at the theme only when no other theme's
  topic is in its clause or a few words away ("reçu", "3 days later", a carrier's name:
  "remboursé 3 jours après" is about the refund, "colis abîmé par Colissimo" the packaging).
- ``weak``: an aside that says little on its own in a longer story ("3 weeks", "paid"); it
  counts only when another phrase of its theme stands on other words of the verbatim, or when
  the verbatim is short and names no other theme ("Still waiting.", "Reçu en 2 jours").
- ``judged``: a thing that counts only when judged beside it ("produit" in "super produit").
- ``excludes``: phrases that look like the theme and are not ("je serai de retour").

When two phrases of different themes cover the same words, the longer one wins:
"livraison gratuite" is delivery cost, not delivery delay; "rapport qualité prix" is price.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache

from cxloop.themes import wordlists
from cxloop.themes.taxonomy import DEFAULT_THEMES
from cxloop.themes.text import LANGS, Lang

KINDS = ("topic", "hint", "aside", "weak", "judged", "excludes")


@dataclass(frozen=True)
class Entries:
    """One theme's phrases in one language, by kind (the weak asides are among ``aside``)."""

    topic: tuple[str, ...] = ()
    hint: tuple[str, ...] = ()
    aside: tuple[str, ...] = ()
    judged: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lexicon:
    """One language's built-in lexicon, as read from its data files."""

    themes: dict[str, Entries]  # default theme key -> its phrases
    weak: dict[str, frozenset[str]]  # theme key -> its weak asides
    shared: dict[str, tuple[str, ...]]  # phrase -> the themes it is a topic of
    skip: frozenset[str]  # words a phrase may step over (articles, pronouns, intensifiers)
    known: frozenset[str]  # common words the spelling corrector leaves alone


def pairs(first: Iterable[str], second: Iterable[str], gap: bool = True) -> tuple[str, ...]:
    """Every "a b" phrase (``a … b`` with ``gap``): a noun with what is said of it."""
    joint = " … " if gap else " "
    return tuple(f"{a}{joint}{b}" for a in first for b in second)


def theme_keys() -> tuple[str, ...]:
    """The default themes' keys: the themes a built-in lexicon file may belong to."""
    return tuple(str(theme["key"]) for theme in DEFAULT_THEMES)


@cache
def load(lang: Lang) -> Lexicon:
    """One language's lexicon, read from its data files on first use."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, not {lang!r}")
    lists = named_lists(lang)
    themes: dict[str, Entries] = {}
    weak: dict[str, frozenset[str]] = {}
    for key in theme_keys():
        name = f"{lang}/lexicon/{key}.yaml"
        document = wordlists.read(name)
        unknown = set(document) - set(KINDS)
        if unknown:
            raise ValueError(f"{name}: unknown kinds {sorted(unknown)} (kinds: {KINDS})")
        kinds = {kind: expand(document.get(kind, []), lists, f"{name}: {kind}") for kind in KINDS}
        # The tagger tells a weak aside from the others by the set: the asides keep them all.
        themes[key] = Entries(
            topic=kinds["topic"],
            hint=kinds["hint"],
            aside=(*kinds["weak"], *kinds["aside"]),
            judged=kinds["judged"],
            excludes=kinds["excludes"],
        )
        weak[key] = frozenset(kinds["weak"])
    words = f"{lang}/words.yaml"
    return Lexicon(
        themes=themes,
        weak=weak,
        shared=shared_topics(lang, lists),
        skip=frozenset(wordlists.phrases(wordlists.section(words, "skip"), f"{words}: skip")),
        known=frozenset(wordlists.phrases(wordlists.section(words, "known"), f"{words}: known")),
    )


def named_lists(lang: Lang) -> dict[str, tuple[str, ...]]:
    """The lists a theme file may include by name (``data/<lang>/lists.yaml``), spelt out."""
    name = f"{lang}/lists.yaml"
    spelt: dict[str, tuple[str, ...]] = {}
    # A list may include the lists written above it: no include can then go round in a circle.
    for key, items in wordlists.read(name).items():
        spelt[key] = _spell(items, spelt, f"{name}: {key}", with_pairs=False)
    return spelt


def shared_topics(lang: Lang, lists: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Phrases that are a topic of several themes, each with its themes (``shared.yaml``)."""
    name = f"{lang}/shared.yaml"
    shared: dict[str, tuple[str, ...]] = {}
    for group, value in wordlists.read(name).items():
        where = f"{name}: {group}"
        if not isinstance(value, dict) or set(value) != {"themes", "topic"}:
            raise ValueError(f"{where}: a mapping with 'themes' and 'topic'")
        themes = wordlists.phrases(value["themes"], f"{where}: themes")
        shared.update(dict.fromkeys(expand(value["topic"], lists, f"{where}: topic"), themes))
    return shared


def expand(items: object, lists: Mapping[str, tuple[str, ...]], where: str) -> tuple[str, ...]:
    """A kind's list spelt out: its phrases, ``include: NAME`` lists and ``pairs:`` products."""
    return _spell(items, lists, where, with_pairs=True)


def _spell(
    items: object, lists: Mapping[str, tuple[str, ...]], where: str, *, with_pairs: bool
) -> tuple[str, ...]:
    if not isinstance(items, list):
        raise ValueError(f"{where}: a list of phrases, includes and pairs")
    found: list[str] = []
    for item in items:
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict) and set(item) == {"include"}:
            found.extend(_included(item["include"], lists, where))
        elif with_pairs and isinstance(item, dict) and set(item) == {"pairs"}:
            found.extend(_pairs(item["pairs"], lists, where))
        else:
            raise ValueError(f"{where}: {item!r} is not a phrase, an include or pairs")
    return tuple(found)


def _included(name: object, lists: Mapping[str, tuple[str, ...]], where: str) -> tuple[str, ...]:
    if not isinstance(name, str) or name not in lists:
        raise ValueError(f"{where}: include {name!r} is not a list of lists.yaml (above it)")
    return lists[name]


def _pairs(spec: object, lists: Mapping[str, tuple[str, ...]], where: str) -> tuple[str, ...]:
    """Every phrase of ``first`` with every phrase of ``second`` (each a list or an include)."""
    if not isinstance(spec, dict) or not {"first", "second"} <= set(spec) <= {
        "first",
        "second",
        "gap",
    }:
        raise ValueError(f"{where}: pairs need 'first' and 'second' (and may set 'gap')")
    gap = spec.get("gap", "true")
    if gap not in ("true", "false"):
        raise ValueError(f"{where}: pairs' gap is true or false, not {gap!r}")
    # A side is a list of phrases and includes, or one include on its own.
    first, second = (
        _spell([side] if isinstance(side, dict) else side, lists, where, with_pairs=False)
        for side in (spec["first"], spec["second"])
    )
    return pairs(first, second, gap=gap == "true")


def __getattr__(name: str) -> object:
    """``THEMES``, ``SHARED``, ``WEAK``, ``SKIP`` and ``KNOWN`` by language, read on first use.

    The former module constants, for callers written before the data files.
    """
    if name not in ("THEMES", "SHARED", "WEAK", "SKIP", "KNOWN"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    by_lang = {lang: load(lang) for lang in LANGS}
    if name == "THEMES":
        return {key: {lang: by_lang[lang].themes[key] for lang in LANGS} for key in theme_keys()}
    if name == "WEAK":
        return {key: {lang: by_lang[lang].weak[key] for lang in LANGS} for key in theme_keys()}
    if name == "SHARED":
        return {lang: by_lang[lang].shared for lang in LANGS}
    if name == "SKIP":
        return {lang: by_lang[lang].skip for lang in LANGS}
    return {lang: by_lang[lang].known for lang in LANGS}
