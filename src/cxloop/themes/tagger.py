"""The theme tagger: a verbatim in, its language, themes, sentiment and theme mentions out.

Everything is compiled once per taxonomy (``Tagger(taxonomy)``); a verbatim then costs one
regular-expression scan, dictionary look-ups of cached stems, and a few loops over its words:

1. Scan words with their offsets; punctuation, "…" and contrast words ("mais", "but",
   "sauf", "however") cut the text into clauses.
2. Key every word (``text.Keys``: corrected, stemmed, without accents).
3. Find the lexicon's phrases of every theme within each clause (``lexicon.py`` explains the
   kinds of entries), drop what an exclude covers, and let the longer phrase win where two
   themes claim the same words.
4. Score each word's valence (``sentiment.py``), turn lone praise beside a complaint into
   sarcasm, then sum per clause, per verbatim and per mention: each opinion word goes to the
   nearest mention of its clause.
5. Blend in the workspace's learned corrections (``learned.py``), and when nothing was found
   and a local embedding model is set up, its zero-shot guess (``embeddings.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cxloop.themes import lexicon, sentiment
from cxloop.themes.language import ASKED, detect, function_words, is_tagged
from cxloop.themes.learned import LearnedModel, features
from cxloop.themes.taxonomy import Taxonomy, default_taxonomy

if TYPE_CHECKING:
    from cxloop.themes.embeddings import EmbeddingMatcher

from cxloop.folding import fold
from cxloop.themes.text import CURRENCY, LANGS, NUMBER, SCAN, Corrector, Keys, Lang, words

TOPIC, HINT, JUDGED, ASIDE, WEAK = 0, 1, 2, 3, 4
GAP = 2  # words a "…" in a phrase may step over
HINT_REACH = 1  # a hint gives way to another theme's topic this close (in content words)
ASIDE_REACH = 4  # an aside gives way to another theme's topic in its clause or this close
OPINION_REACH = 2  # a judged thing needs an opinion word this close
OPINION = 0.25  # and that strong
SHORT = 10  # a weak aside stands alone in a verbatim of at most this many content words
# A sentence that opens with one of these starts a follow-up to the review ("EDIT : remboursé").
UPDATE_MARKS = frozenset(("edit", "update", "updated", "maj", "edited"))
VERDICT_SENTENCES = 2  # in a story of at least this many sentences, the last one is the verdict
SPECIAL = "\x01"  # key prefix of emoji and emoticons: never part of a phrase

# A compiled phrase: the keys after its first one, each with the gap allowed before it.
Rest = tuple[tuple[str, int], ...]
# rest, the keys it needs after the first, theme index, kind, the phrase as written
Pattern = tuple[Rest, frozenset[str], int, int, str]


@dataclass(frozen=True)
class Mention:
    """Where a verbatim talks about a theme, and how it feels about it there."""

    theme: str
    sentiment: float
    start: int
    end: int


@dataclass(frozen=True)
class Tagging:
    """A tagged verbatim: its language, themes (taxonomy order), sentiment and mentions.

    ``tagged`` is False for a verbatim in a language the tagger does not read (German,
    Italian…): it has no themes, no mentions and a sentiment of 0, which mean nothing.
    """

    lang: str
    themes: tuple[str, ...]
    sentiment: float
    mentions: tuple[Mention, ...]
    tagged: bool = True


@dataclass
class _Grammar:
    """One language's compiled lexicons for one taxonomy."""

    keys: Keys
    skip: frozenset[str]
    content: dict[str, list[Pattern]] = field(default_factory=dict)
    literal: dict[str, list[Pattern]] = field(default_factory=dict)
    exclude: dict[str, list[Pattern]] = field(default_factory=dict)
    polarity_phrases: dict[str, list[tuple[Rest, float]]] = field(default_factory=dict)
    contrasts: dict[str, list[tuple[Rest, bool]]] = field(default_factory=dict)
    # One-word clause openers as written (folded): they carry no opinion, even when a polar
    # word shares their stem ("exceptional" and "except" are both "except" to Snowball).
    opener_words: frozenset[str] = frozenset()
    polarity: sentiment.Polarity | None = None
    symbols: sentiment.Symbols | None = None  # emoji and emoticon valences
    fallback: dict[str, float] = field(default_factory=dict)  # the other language's words


@dataclass
class _Match:
    theme: int
    kind: int
    words: tuple[int, ...]
    clause: int
    phrase: str


@dataclass
class _Text:
    """A scanned verbatim: its words (with emoji and emoticons) and clause marks."""

    words: list[str]
    starts: list[int]
    ends: list[int]
    shouted: list[bool]
    breaks: list[bool]  # a clause ends before this word
    ellipsis_after: set[int]  # word indices followed by "…"
    exclaims: int
    sentences: list[int] = field(default_factory=list)  # each word's sentence
    update_at: int = -1  # first word of an "EDIT:" / "UPDATE:" follow-up, or -1


class Tagger:
    """Tags verbatims with a taxonomy's themes; build once, then tag many, from any thread.

    Its word keys keep caches and stemmers that are not thread-safe: a verbatim is tagged under
    the tagger's lock (well under a millisecond), so one tagger serves every thread of a process
    instead of each thread building its own (about a second of CPU each).
    """

    def __init__(
        self,
        taxonomy: Taxonomy | None = None,
        model: LearnedModel | None = None,
        *,
        default_lang: Lang = "fr",
        embeddings: bool | EmbeddingMatcher = True,
    ) -> None:
        self.taxonomy = taxonomy if taxonomy is not None else default_taxonomy()
        self.keys = self.taxonomy.keys
        self.model = model
        self.default_lang = default_lang
        self._grammars = {lang: _compile(self.taxonomy, lang) for lang in LANGS}
        self._lock = threading.Lock()
        # True: the local model of CXLOOP_EMBEDDINGS_MODEL if there is one; or a matcher.
        self._embeddings: EmbeddingMatcher | None = None
        if embeddings is True:
            from cxloop.themes.embeddings import load_matcher

            self._embeddings = load_matcher(self.taxonomy)
        elif embeddings is not False:
            self._embeddings = embeddings

    @property
    def embeddings(self) -> str:
        """``on`` when a local sentence-embedding model backs the lexicon, else ``off``."""
        return "on" if self._embeddings is not None else "off"

    def tag_many(
        self, texts: Iterable[str], langs: Sequence[str | None] | None = None
    ) -> list[Tagging]:
        """Tag each text (``langs[i]`` overrides detection for text i)."""
        texts = list(texts)
        if langs is None:
            return [self.tag(text) for text in texts]
        if len(langs) != len(texts):
            raise ValueError("langs must have one entry per text")
        return [self.tag(text, lang) for text, lang in zip(texts, langs, strict=True)]

    def tag(self, text: str, lang: str | None = None) -> Tagging:
        """Language, themes, sentiment and mentions of one verbatim."""
        return self._run(text, lang, with_features=False)[0]

    def analyse(self, text: str, lang: str | None = None) -> tuple[Tagging, list[str]]:
        """The tagging and the verbatim's features for a learned model (``learned.features``)."""
        return self._run(text, lang, with_features=True)

    def _run(self, text: str, lang: str | None, with_features: bool) -> tuple[Tagging, list[str]]:
        with self._lock:
            return self._run_alone(text, lang, with_features)

    def _run_alone(
        self, text: str, lang: str | None, with_features: bool
    ) -> tuple[Tagging, list[str]]:
        if lang is not None and lang not in ASKED:
            raise ValueError(f"lang must be one of {', '.join(ASKED)}, not {lang!r}")
        if not text or text.isspace():
            return Tagging(lang or self.default_lang, (), 0.0, ()), []
        mixed = False
        if lang is None:
            detection = detect(text, self.default_lang)
            lang, mixed = detection.lang, detection.mixed
        if not is_tagged(lang):
            return Tagging(lang, (), 0.0, (), tagged=False), []
        scanned = _scan(text)
        grammar = self._grammars[lang]
        keys = [word if word[0] == SPECIAL else grammar.keys(word) for word in scanned.words]
        clauses, openers = _clauses(grammar, keys, scanned.breaks)
        values = _valences(grammar, keys, clauses, scanned)
        matches = _find(grammar, keys, clauses)
        if mixed:
            other = self._grammars["en" if lang == "fr" else "fr"]
            other_keys = [w if w[0] == SPECIAL else other.keys(w) for w in scanned.words]
            matches.extend(_find(other, other_keys, clauses))
        content = _content_ranks(grammar, keys)
        kept = _resolve(matches, clauses, content, values)
        overall, clause_sums = _aggregate(grammar, keys, clauses, openers, values, scanned)
        mentions = _mentions(
            kept,
            self.keys,
            lang,
            clauses,
            openers,
            content,
            values,
            clause_sums,
            overall,
            scanned,
        )
        found = {m.theme for m in mentions}
        feats: list[str] = []
        if self.model is not None or with_features:
            feats = features([k for k, rank in zip(keys, content, strict=True) if rank >= 0])
        if self.model is not None:
            added, removed = self.model.corrections(feats, found)
            added &= set(self.keys)
            found = (found | added) - removed
            mentions = [m for m in mentions if m.theme not in removed]
            mentions += [Mention(key, round(overall, 3), 0, len(text)) for key in sorted(added)]
        if not found and self._embeddings is not None:
            for key in self._embeddings.match(text):
                found.add(key)
                mentions.append(Mention(key, round(overall, 3), 0, len(text)))
        order = {key: i for i, key in enumerate(self.keys)}
        themes = tuple(sorted(found, key=order.__getitem__))
        mentions.sort(key=lambda m: (m.start, order[m.theme]))
        return Tagging(lang, themes, round(overall, 3) + 0.0, tuple(mentions)), feats


# --- compiling ---------------------------------------------------------------------------


def _compile(taxonomy: Taxonomy, lang: Lang) -> _Grammar:
    """One language's matching tables for a taxonomy."""
    lex, polar = lexicon.load(lang), sentiment.load(lang)
    entries: list[tuple[int, int, str]] = []  # theme index, kind, phrase
    excludes: list[tuple[int, str]] = []
    owner: dict[str, int] = {}
    for index, theme in enumerate(taxonomy.themes):
        entries.extend((index, TOPIC, seed) for seed in theme.seeds_in(lang))
        excludes.extend((index, phrase) for phrase in theme.excludes_in(lang))
        for key in (theme.key, *theme.merged_from):
            builtin = lex.themes.get(key)
            if builtin is None:
                continue
            owner.setdefault(key, index)
            entries.extend((index, TOPIC, phrase) for phrase in builtin.topic)
            entries.extend((index, HINT, phrase) for phrase in builtin.hint)
            weak = lex.weak.get(key, frozenset())
            entries.extend(
                (index, WEAK if phrase in weak else ASIDE, phrase) for phrase in builtin.aside
            )
            entries.extend((index, JUDGED, phrase) for phrase in builtin.judged)
            excludes.extend((index, phrase) for phrase in builtin.excludes)
    for phrase, sharing in lex.shared.items():
        entries.extend((owner[key], TOPIC, phrase) for key in sharing if key in owner)

    vocabulary = _vocabulary(lang, [phrase for _, _, phrase in entries])
    folded = {fold(word) for word in vocabulary}
    aliases = _aliases(Keys(lang), vocabulary)
    keys = Keys(
        lang,
        aliases=aliases,
        corrector=Corrector(folded, _known(lang)),
        whole=polar.whole,
    )
    skip = frozenset(keys(word) for word in lex.skip)
    grammar = _Grammar(keys=keys, skip=skip)
    seen: set[tuple[str, Rest, int, int]] = set()
    for index, kind, phrase in entries:
        for table, compiled in _patterns(grammar, phrase):
            head, rest = compiled
            if not head or (head, rest, index, kind) in seen:
                continue
            seen.add((head, rest, index, kind))
            target = grammar.content if table == "content" else grammar.literal
            needs = frozenset(key for key, _ in rest)
            target.setdefault(head, []).append((rest, needs, index, kind, phrase))
    for index, phrase in excludes:
        head, rest = _literal(keys, phrase)
        if head:
            needs = frozenset(key for key, _ in rest)
            grammar.exclude.setdefault(head, []).append((rest, needs, index, TOPIC, phrase))
    polarity = sentiment.compile_polarity(keys, skip)
    grammar.polarity = polarity
    grammar.symbols = sentiment.symbols()
    # An English word in a French answer ("top", "great") or the reverse still counts.
    mine = folded | _known(lang)
    other = "en" if lang == "fr" else "fr"
    for word, value in sentiment.load(other).words.items():
        key = keys(word)
        if fold(word) not in mine and key not in polarity.words and key not in skip:
            grammar.fallback[key] = value
    for text, value in polar.phrases.items():
        head, rest = _literal(keys, text)
        if head:
            grammar.polarity_phrases.setdefault(head, []).append((rest, value))
    for lst in grammar.polarity_phrases.values():
        lst.sort(key=lambda item: -len(item[0]))
    # An opener listed as both a contrast and an exception ("sauf", "except") is an exception;
    # longer openers are tried first ("sauf que" before "sauf").
    openers: dict[tuple[str, Rest], bool] = {}
    for opener in polar.contrasts:
        openers.setdefault(_literal(keys, opener), False)
    for opener in polar.exceptions:
        openers[_literal(keys, opener)] = True
    for (head, rest), exception in openers.items():
        grammar.contrasts.setdefault(head, []).append((rest, exception))
    for choices in grammar.contrasts.values():
        choices.sort(key=lambda item: -len(item[0]))
    grammar.opener_words = frozenset(
        fold(opener) for opener in (*polar.contrasts, *polar.exceptions) if " " not in opener
    )
    return grammar


def _segments(keys: Keys, phrase: str) -> list[tuple[str, int]]:
    """A phrase's keys, each with the gap allowed before it ("…" allows ``GAP`` words)."""
    keyed: list[tuple[str, int]] = []
    for n, part in enumerate(phrase.split("…")):
        for i, word in enumerate(words(part)):
            keyed.append((keys(word), GAP if n > 0 and i == 0 else 0))
    return keyed


def _literal(keys: Keys, phrase: str) -> tuple[str, Rest]:
    keyed = _segments(keys, phrase)
    if not keyed:
        return "", ()
    return keyed[0][0], tuple(keyed[1:])


def _patterns(grammar: _Grammar, phrase: str) -> list[tuple[str, tuple[str, Rest]]]:
    """A phrase as a content-word pattern when it has two content words or more, else literal."""
    keyed = _segments(grammar.keys, phrase)
    if not keyed:
        return []
    content: list[tuple[str, int]] = []
    gap = 0
    for key, before in keyed:
        gap = max(gap, before)
        if key in grammar.skip:
            continue
        content.append((key, gap))
        gap = 0
    words_in = sum(1 for key, _ in content if key not in (NUMBER, CURRENCY))
    if words_in >= 2 or (len(content) == 1 and len(keyed) == 1):
        return [("content", (content[0][0], tuple(content[1:])))]
    return [("literal", (keyed[0][0], tuple(keyed[1:])))]


def _vocabulary(lang: Lang, phrases: Iterable[str]) -> set[str]:
    """The words of the lexicons (lowercased), for aliases and spelling correction."""
    found: set[str] = set()
    polar = sentiment.load(lang)
    for phrase in (*phrases, *polar.words, *polar.phrases):
        found.update(word for word in words(phrase) if word not in (NUMBER, CURRENCY))
    return found


def _known(lang: Lang) -> set[str]:
    lex = lexicon.load(lang)
    return {fold(w) for w in (*function_words(lang), *lex.skip, *lex.known)}


def _aliases(keys: Keys, vocabulary: set[str]) -> dict[str, str]:
    """Map the keys of forms the stemmer splits from a lexicon word to the word's key.

    French only: inflections ("parfait" -> "parf" but "parfaite" -> "parfait") and spellings
    without accents ("fidélité" -> "fidel" but "fidelite" -> "fidelit").
    """
    if keys.lang != "fr":
        return {}
    primary = {keys(word) for word in vocabulary}
    aliases: dict[str, str] = {}
    for word in vocabulary:
        base = keys(word)
        bare = fold(word)
        for form in {word + "e", word + "s", word + "es", word + "x", bare, bare + "e", bare + "s"}:
            key = keys(form)
            if key != base and key not in primary:
                aliases.setdefault(key, base)
    return aliases


# --- reading a verbatim ------------------------------------------------------------------


def _scan(text: str) -> _Text:
    scanned = _Text([], [], [], [], [], set(), 0)
    pending_break = False
    sentence = 0
    pending_sentence = False
    upper = letters = 0
    for match in SCAN.finditer(text):
        kind = match.lastgroup
        token = match.group()
        if kind == "p" or kind == "x":
            if any(mark in token for mark in ".!?\n"):
                pending_sentence = True
            if "??" in token or "?!" in token or "!?" in token:  # exasperation
                scanned.words.append(SPECIAL + "??")
                scanned.starts.append(match.start())
                scanned.ends.append(match.end())
                scanned.shouted.append(False)
                scanned.breaks.append(pending_break)
                scanned.sentences.append(sentence)
            pending_break = True
            if kind == "x" and scanned.words:
                scanned.ellipsis_after.add(len(scanned.words) - 1)
            scanned.exclaims += token.count("!")
            continue
        if kind == "w":
            word = token.lower()
            letters += 1
            shouted = len(token) >= 3 and token.isupper()
            upper += shouted
        elif kind == "n":
            word, shouted = NUMBER, False
        elif kind == "c":
            word, shouted = CURRENCY, False
        else:  # emoji, emoticon
            word, shouted = SPECIAL + token.lower(), False
        if pending_sentence and scanned.words:
            sentence += 1
            if scanned.update_at < 0 and word in UPDATE_MARKS:
                scanned.update_at = len(scanned.words)
        pending_sentence = False
        scanned.words.append(word)
        scanned.starts.append(match.start())
        scanned.ends.append(match.end())
        scanned.shouted.append(shouted)
        scanned.breaks.append(pending_break)
        scanned.sentences.append(sentence)
        pending_break = False
    if letters and upper > letters / 2:  # all in capitals: nothing stands out
        scanned.shouted = [False] * len(scanned.shouted)
    return scanned


def _clauses(
    grammar: _Grammar, keys: Sequence[str], breaks: Sequence[bool]
) -> tuple[list[int], dict[int, bool]]:
    """Each word's clause; and the clauses a contrast opens (True: an exception, "sauf")."""
    clause = 0
    clauses: list[int] = []
    openers: dict[int, bool] = {}
    i = 0
    n = len(keys)
    while i < n:
        if breaks[i] and i > 0:
            clause += 1
        for rest, exception in grammar.contrasts.get(keys[i], ()):
            if _follows(keys, None, i, rest) is not None:
                if clauses and clauses[-1] == clause:
                    clause += 1
                openers[clause] = exception
                break
        clauses.append(clause)
        i += 1
    return clauses, openers


def _follows(
    seq: Sequence[str], clauses: Sequence[int] | None, start: int, rest: Rest
) -> list[int] | None:
    """Positions of a phrase whose head is at ``start``, or None (phrases stay in a clause)."""
    positions = [start]
    j = start
    n = len(seq)
    for key, gap in rest:
        found = -1
        for t in range(j + 1, min(n, j + 2 + gap)):
            if clauses is not None and clauses[t] != clauses[start]:
                break
            if seq[t] == key:
                found = t
                break
        if found < 0:
            return None
        positions.append(found)
        j = found
    return positions


def _find(grammar: _Grammar, keys: Sequence[str], clauses: Sequence[int]) -> list[_Match]:
    """Every theme phrase found, minus those an exclude of their theme covers."""
    skip = grammar.skip
    index = [i for i, key in enumerate(keys) if key not in skip and key[0] != SPECIAL]
    content = [keys[i] for i in index]
    content_clauses = [clauses[i] for i in index]
    found: list[_Match] = []
    present = set(keys)  # a phrase whose words are not all here cannot match
    table = grammar.content
    for ci, key in enumerate(content):
        for rest, needs, theme, kind, phrase in table.get(key, ()):
            if not needs <= present:
                continue
            positions = _follows(content, content_clauses, ci, rest) if rest else [ci]
            if positions is not None:
                words_at = tuple(index[p] for p in positions)
                found.append(_Match(theme, kind, words_at, content_clauses[ci], phrase))
    table = grammar.literal
    excluded: dict[int, set[int]] = {}
    for i, key in enumerate(keys):
        for rest, needs, theme, kind, phrase in table.get(key, ()):
            if not needs <= present:
                continue
            positions = _follows(keys, clauses, i, rest)
            if positions is not None:
                found.append(_Match(theme, kind, tuple(positions), clauses[i], phrase))
        for rest, needs, theme, _, _ in grammar.exclude.get(key, ()):
            if not needs <= present:
                continue
            positions = _follows(keys, clauses, i, rest)
            if positions is not None:
                excluded.setdefault(theme, set()).update(range(i, positions[-1] + 1))
    if excluded:
        found = [m for m in found if not excluded.get(m.theme, set()).intersection(m.words)]
    return found


def _content_ranks(grammar: _Grammar, keys: Sequence[str]) -> list[int]:
    """Each word's position among content words (-1 for a skipped word)."""
    ranks: list[int] = []
    rank = 0
    for key in keys:
        if key in grammar.skip or key[0] == SPECIAL:
            ranks.append(-1)
        else:
            ranks.append(rank)
            rank += 1
    return ranks


def _distance(a: Sequence[int], b: Sequence[int], ranks: Sequence[int]) -> int:
    """How many content words apart two sets of words are (0 when they share one)."""
    best = 1 << 30
    for i in a:
        ri = ranks[i] if ranks[i] >= 0 else _near_rank(ranks, i)
        for j in b:
            rj = ranks[j] if ranks[j] >= 0 else _near_rank(ranks, j)
            best = min(best, abs(ri - rj))
    return best


def _near_rank(ranks: Sequence[int], i: int) -> int:
    for j in range(i + 1, len(ranks)):
        if ranks[j] >= 0:
            return ranks[j]
    for j in range(i - 1, -1, -1):
        if ranks[j] >= 0:
            return ranks[j]
    return 0


def _resolve(
    matches: list[_Match], clauses: Sequence[int], ranks: Sequence[int], values: Sequence[float]
) -> list[_Match]:
    """The matches that stand: longer phrases win, hints give way, judged things need a judge."""
    # Compare content words only: "trop chers" is no longer than "chers".
    spans = [frozenset(i for i in m.words if ranks[i] >= 0) or frozenset(m.words) for m in matches]
    kept = [
        m
        for m, span in zip(matches, spans, strict=True)
        if not any(
            other.theme != m.theme and span < other_span
            for other, other_span in zip(matches, spans, strict=True)
        )
    ]
    topics = [m for m in kept if m.kind == TOPIC]
    claimed: dict[int, set[int]] = {}  # word -> themes whose phrases use it
    for m in kept:
        for i in m.words:
            claimed.setdefault(i, set()).add(m.theme)
    standing: list[_Match] = []
    for m in kept:
        if m.kind == HINT or m.kind == JUDGED:
            if any(
                t.theme != m.theme
                and t.clause == m.clause
                and _distance(m.words, t.words, ranks) <= HINT_REACH
                for t in topics
            ):
                continue
        elif (m.kind == ASIDE or m.kind == WEAK) and any(
            t.theme != m.theme
            and (t.clause == m.clause or _distance(m.words, t.words, ranks) <= ASIDE_REACH)
            for t in topics
        ):
            continue
        if m.kind == JUDGED and not any(
            abs(values[i]) >= OPINION
            and clauses[i] == m.clause
            and i not in m.words
            and not claimed.get(i, set()) - {m.theme}
            and _distance((i,), m.words, ranks) <= OPINION_REACH
            for i in range(len(values))
        ):
            continue
        standing.append(m)
    return _corroborated(standing, ranks)


def _corroborated(standing: list[_Match], ranks: Sequence[int]) -> list[_Match]:
    """Drop weak asides ("3 weeks", "paid") that nothing else of their theme backs up.

    A weak aside stands when another phrase of its theme stands on other words, or when the
    verbatim is short and no other theme stands in it ("Still waiting", "Reçu en 2 jours").
    """
    if all(m.kind != WEAK for m in standing):
        return standing
    short = max(ranks, default=-1) < SHORT
    themes = {m.theme for m in standing}
    kept: list[_Match] = []
    for m in standing:
        if m.kind == WEAK and not (short and len(themes) == 1):
            words = set(m.words)
            if not any(
                o.theme == m.theme and o is not m and not words.intersection(o.words)
                for o in standing
            ):
                continue
        kept.append(m)
    return kept


# --- sentiment ---------------------------------------------------------------------------


def _valences(
    grammar: _Grammar, keys: Sequence[str], clauses: Sequence[int], scanned: _Text
) -> list[float]:
    polarity = grammar.polarity
    assert polarity is not None
    phrase_at: dict[int, tuple[int, float]] = {}
    i = 0
    n = len(keys)
    while i < n:
        for rest, value in grammar.polarity_phrases.get(keys[i], ()):
            positions = _follows(keys, clauses, i, rest)
            if positions is not None:
                phrase_at[i] = (positions[-1] - i + 1, value)
                i = positions[-1]
                break
        i += 1
    values = sentiment.valences(
        polarity, keys, clauses, scanned.shouted, phrase_at, grammar.fallback
    )
    symbols = grammar.symbols
    assert symbols is not None
    for i, key in enumerate(keys):
        if key[0] == SPECIAL:
            token = key[1:]
            values[i] = symbols.emoji.get(token[:1], symbols.emoticons.get(token, 0.0))
        elif values[i] and fold(scanned.words[i]) in grammar.opener_words:
            values[i] = 0.0
    return values


def _aggregate(
    grammar: _Grammar,
    keys: Sequence[str],
    clauses: Sequence[int],
    openers: dict[int, bool],
    values: list[float],
    scanned: _Text,
) -> tuple[float, dict[int, float]]:
    """The verbatim's sentiment and each clause's sum (after sarcasm), from word valences."""
    polarity = grammar.polarity
    assert polarity is not None
    sums: dict[int, float] = {}
    for clause, value in zip(clauses, values, strict=True):
        if value:
            sums[clause] = sums.get(clause, 0.0) + value
    # Sarcasm: a clause of lone praise ("Bravo 👏", "Super…") beside a complaint.
    members: dict[int, list[int]] = {}
    for i, clause in enumerate(clauses):
        members.setdefault(clause, []).append(i)
    lone = [
        c
        for c, idx in members.items()
        if sums.get(c, 0.0) > 0
        and len([i for i in idx if keys[i][0] != SPECIAL and keys[i] not in grammar.skip]) <= 2
        and all(values[i] <= 0 or keys[i] in polarity.irony or keys[i][0] == SPECIAL for i in idx)
        and any(keys[i] in polarity.irony for i in idx)
        and (c + 1) not in openers
    ]
    if lone:
        rest = sum(v for c, v in sums.items() if c not in lone)
        praise_elsewhere = any(v > 0 for c, v in sums.items() if c not in lone)
        if rest < -0.25 and not praise_elsewhere:
            for c in lone:
                for i in members[c]:
                    values[i] = -abs(values[i])
                sums[c] = -abs(sums[c])
    # Each clause's sentence; in a longer story the last sentence is the verdict.
    sentence_of: dict[int, int] = {}
    for clause, sentence in zip(clauses, scanned.sentences, strict=True):
        sentence_of.setdefault(clause, sentence)
    last = scanned.sentences[-1] if scanned.sentences else 0
    verdict = last + 1 >= VERDICT_SENTENCES and scanned.update_at < 0
    update_clause = clauses[scanned.update_at] if scanned.update_at >= 0 else -1
    praise = blame = 0.0
    before = after = 0.0  # around an "EDIT:" follow-up
    for clause, value in sums.items():
        weight = 1.0
        if clause in openers:
            weight = sentiment.AFTER_CONTRAST
        elif clause + 1 in openers:
            weight = sentiment.BEFORE_CONTRAST
        if verdict and sentence_of.get(clause) == last:
            weight *= sentiment.VERDICT
        if update_clause >= 0:
            if clause >= update_clause:
                after += weight * value
            else:
                before += weight * value
        if value > 0:
            praise += weight * value
        else:
            blame -= weight * value
    total = praise - blame
    if total and scanned.exclaims:
        total += (1 if total > 0 else -1) * sentiment.EXCLAIM * min(scanned.exclaims, 3)
    overall = sentiment.squash(total)
    if praise and blame:  # praise and blame: the weaker side pulls towards neutral
        overall *= 1 - sentiment.MIXED * min(praise, blame) / max(praise, blame)
    if before < 0 < after:  # a complaint, then "EDIT: sorted": a story that ended well
        overall *= sentiment.RESOLVED
    elif after < 0 < before:  # praise, then "UPDATE: it broke": the follow-up tells
        overall = sentiment.squash(after)
    return overall, sums


def _mentions(
    kept: list[_Match],
    theme_keys: Sequence[str],
    lang: Lang,
    clauses: Sequence[int],
    openers: dict[int, bool],
    ranks: Sequence[int],
    values: Sequence[float],
    sums: dict[int, float],
    overall: float,
    scanned: _Text,
) -> list[Mention]:
    """One mention per theme and clause, with the opinion words nearest to it."""
    grouped: dict[tuple[int, int], list[int]] = {}
    for m in kept:
        grouped.setdefault((m.theme, m.clause), []).extend(m.words)
    if not grouped:
        return []
    spots = [(theme, clause, sorted(set(w))) for (theme, clause), w in grouped.items()]
    scores = [0.0] * len(spots)
    judged = [False] * len(spots)
    for i, value in enumerate(values):
        if not value:
            continue
        best, best_key = -1, (1 << 30, 0)
        for s, (_, clause, at) in enumerate(spots):
            if clause != clauses[i]:
                continue
            gap = 0 if i in at else _distance((i,), at, ranks)
            # French puts the adjective after the noun, English before it.
            after = i > at[0]
            side = 0 if after == (lang == "fr") else 1
            key = (gap, side)
            if key < best_key:
                best, best_key = s, key
        if best >= 0:
            scores[best] += value
            judged[best] = True
    mentions: list[Mention] = []
    for s, (theme, clause, at) in enumerate(spots):
        if judged[s]:
            value = sentiment.squash(scores[s])
        elif sums.get(clause):
            value = sentiment.squash(sums[clause])
        elif openers.get(clause) and sums.get(clause - 1):
            value = -0.5 * sentiment.squash(sums[clause - 1])  # "tout parfait sauf la livraison"
        else:
            value = overall
        mentions.append(
            Mention(
                theme_keys[theme],
                round(value, 3) + 0.0,
                scanned.starts[at[0]],
                scanned.ends[at[-1]],
            )
        )
    return mentions
