"""The tagger's word data files (cxloop/themes/data/): checked against their schema, free of copies.

``problems(root)`` reads every file of a data directory and says what is wrong with it; the
shipped data must have no problem, and a copy of it broken on purpose must have the problem
named. Files are read the way the tagger reads them (YAML's base schema: every scalar is a
string), with duplicate keys refused.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cxloop.themes import lexicon, sentiment, wordlists
from cxloop.themes.text import LANGS

SRC = Path(__file__).parents[2] / "src" / "cxloop"
DATA = SRC / "themes" / "data"
THEMES = lexicon.theme_keys()
KINDS = lexicon.KINDS
SENTIMENT_LISTS = (
    "whole",
    "negators",
    "short_negators",
    "dual",
    "too",
    "irony",
    "contrasts",
    "exceptions",
)
SENTIMENT_TABLES = ("words", "phrases", "boosters")
WORD_LISTS = ("function", "skip", "known")
COPIED_RUN = 4  # this many phrases in a row, written in two places, are a copied block
# Outside double quotes, "#" starts a YAML comment: "en # jours" unquoted would read "en".
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


class _StrictLoader(yaml.BaseLoader):
    """YAML's base schema (strings only), refusing a key written twice in one mapping."""

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} written twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def expected_files() -> set[str]:
    """Every file a data directory holds, as paths relative to it."""
    files = {"README.md", "emoji.yaml", "protected.yaml"}
    for lang in LANGS:
        files |= {f"{lang}/{name}.yaml" for name in ("lists", "shared", "sentiment", "words")}
        files |= {f"{lang}/lexicon/{key}.yaml" for key in THEMES}
    return files


class Checker:
    """The problems of one data directory, each naming its file and key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.found: list[str] = []
        # For the copy checks: per language, every list as written (label, phrases in order),
        # and where each phrase is written in a theme file or shared.yaml.
        self.written: dict[str, list[tuple[str, list[str]]]] = defaultdict(list)
        self.theme_phrases: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def problem(self, where: str, what: str) -> None:
        self.found.append(f"{where}: {what}")

    # --- reading ---------------------------------------------------------------------------

    def read(self, name: str) -> dict[str, Any] | None:
        """A data file as a mapping, or None (the problem noted)."""
        path = self.root / name
        if not path.is_file():
            return None
        text = path.read_text(encoding="utf-8")
        for n, line in enumerate(text.splitlines(), 1):
            code = QUOTED.sub("", line)
            if "#" in code and not line.lstrip().startswith("#"):
                self.problem(f"{name}:{n}", 'a "#" outside double quotes (write "en # jours")')
        try:
            document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506
        except yaml.YAMLError as error:
            self.problem(name, f"not valid YAML: {error}")
            return None
        if not isinstance(document, dict):
            self.problem(name, "a mapping of keys at the top")
            return None
        return document

    def keys(self, where: str, document: dict[str, Any], required: set[str]) -> None:
        for key in sorted(set(document) - required):
            self.problem(where, f"unknown key {key!r}")
        for key in sorted(required - set(document)):
            self.problem(where, f"missing key {key!r}")

    # --- values ----------------------------------------------------------------------------

    def phrase(self, where: str, value: object) -> bool:
        if not isinstance(value, str) or not value:
            self.problem(where, f"{value!r} is not a phrase")
            return False
        if value != value.strip() or "  " in value or "\t" in value or "\n" in value:
            self.problem(where, f"{value!r} has stray spaces")
            return False
        return True

    def no_duplicates(self, where: str, phrases: list[str]) -> None:
        seen: set[str] = set()
        for p in phrases:
            if p in seen:
                self.problem(where, f"{p!r} twice")
            seen.add(p)

    def phrase_list(self, where: str, value: object, lang: str | None = None) -> list[str]:
        """A plain list of phrases (no includes)."""
        if not isinstance(value, list):
            self.problem(where, "a list of phrases")
            return []
        phrases = [p for p in value if self.phrase(where, p)]
        self.no_duplicates(where, phrases)
        if lang is not None:
            self.written[lang].append((where, phrases))
        return phrases

    def number_table(self, where: str, value: object, low: float, high: float) -> None:
        if not isinstance(value, dict):
            self.problem(where, "a mapping of phrases to numbers")
            return
        for word, number in value.items():
            self.phrase(where, word)
            try:
                valid = low <= float(number) <= high
            except (TypeError, ValueError):
                valid = False
            if not valid:
                self.problem(f"{where}: {word}", f"{number!r} is not a number in [{low}, {high}]")

    def items(
        self,
        where: str,
        value: object,
        lists: dict[str, list[str]],
        lang: str,
        *,
        with_pairs: bool = True,
        with_includes: bool = True,
    ) -> list[str]:
        """A list of phrases, includes and pairs, spelt out (the problems noted)."""
        if not isinstance(value, list):
            self.problem(where, "a list of phrases, includes and pairs")
            return []
        spelt: list[str] = []
        run: list[str] = []  # consecutive phrases as written, for the copy checks
        for item in value:
            if isinstance(item, str):
                if self.phrase(where, item):
                    spelt.append(item)
                    run.append(item)
                continue
            self.written[lang].append((where, run))
            run = []
            if with_includes and isinstance(item, dict) and set(item) == {"include"}:
                spelt.extend(self.include(where, item["include"], lists))
            elif with_pairs and isinstance(item, dict) and set(item) == {"pairs"}:
                spelt.extend(self.pairs(where, item["pairs"], lists, lang))
            else:
                self.problem(where, f"{item!r} is not a phrase, an include or pairs")
        self.written[lang].append((where, run))
        return spelt

    def include(self, where: str, name: object, lists: dict[str, list[str]]) -> list[str]:
        if not isinstance(name, str) or name not in lists:
            self.problem(where, f"include {name!r} is not a list of lists.yaml (above it)")
            return []
        self.included.add(name)
        return lists[name]

    def pairs(self, where: str, spec: object, lists: dict[str, list[str]], lang: str) -> list[str]:
        if not isinstance(spec, dict) or not {"first", "second"} <= set(spec) <= {
            "first",
            "second",
            "gap",
        }:
            self.problem(where, f"pairs {spec!r} need 'first' and 'second' (and may set 'gap')")
            return []
        if spec.get("gap", "true") not in ("true", "false"):
            self.problem(where, f"pairs' gap is true or false, not {spec['gap']!r}")
        sides = [
            self.items(
                f"{where}: pairs",
                [side] if isinstance(side, dict) else side,
                lists,
                lang,
                with_pairs=False,
            )
            for side in (spec["first"], spec["second"])
        ]
        joint = " " if spec.get("gap") == "false" else " … "
        return [f"{a}{joint}{b}" for a in sides[0] for b in sides[1]]

    # --- the files -------------------------------------------------------------------------

    def run(self) -> list[str]:
        present = {p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file()}
        present = {p for p in present if "__pycache__" not in p}
        for name in sorted(present - expected_files()):
            self.problem(name, "unexpected file (languages: fr, en; themes: the default keys)")
        for name in sorted(expected_files() - present):
            self.problem(name, "missing")
        for lang in LANGS:
            self.language(lang)
        self.common()
        return self.found

    def language(self, lang: str) -> None:
        self.included: set[str] = set()
        lists = self.named_lists(lang)
        for key in THEMES:
            self.theme(lang, key, lists)
        self.shared(lang, lists)
        for name in sorted(set(lists) - self.included):
            self.problem(f"{lang}/lists.yaml: {name}", "never included")
        self.sentiment(lang)
        self.words(lang)
        self.copies(lang, lists)

    def named_lists(self, lang: str) -> dict[str, list[str]]:
        name = f"{lang}/lists.yaml"
        document = self.read(name) or {}
        spelt: dict[str, list[str]] = {}
        # A list may include lists written above it, which keeps includes free of cycles.
        for key, value in document.items():
            if not re.fullmatch(r"[a-z][a-z0-9_]*", str(key)):
                self.problem(name, f"list name {key!r} is not snake_case")
            spelt[key] = self.items(f"{name}: {key}", value, spelt, lang, with_pairs=False)
            self.no_duplicates(f"{name}: {key}", spelt[key])
        return spelt

    def theme(self, lang: str, key: str, lists: dict[str, list[str]]) -> None:
        name = f"{lang}/lexicon/{key}.yaml"
        document = self.read(name)
        if document is None:
            return
        for kind in sorted(set(document) - set(KINDS)):
            self.problem(name, f"unknown kind {kind!r} (kinds: {', '.join(KINDS)})")
        spelt = {
            kind: self.items(f"{name}: {kind}", document.get(kind, []), lists, lang)
            for kind in KINDS
        }
        for kind in ("topic", "hint", "judged", "excludes"):
            self.no_duplicates(f"{name}: {kind}", spelt[kind])
        # Weak asides are asides: the two lists are one to the tagger.
        self.no_duplicates(f"{name}: aside and weak", spelt["weak"] + spelt["aside"])
        for kind in KINDS:
            for item in document.get(kind, []) or []:
                if isinstance(item, str):
                    self.theme_phrases[lang][item].add(name)

    def shared(self, lang: str, lists: dict[str, list[str]]) -> None:
        name = f"{lang}/shared.yaml"
        seen: set[str] = set()
        for group, value in (self.read(name) or {}).items():
            where = f"{name}: {group}"
            if not isinstance(value, dict):
                self.problem(where, "a mapping with 'themes' and 'topic'")
                continue
            self.keys(where, value, {"themes", "topic"})
            themes = self.phrase_list(f"{where}: themes", value.get("themes", []))
            for key in themes:
                if key not in THEMES:
                    self.problem(f"{where}: themes", f"{key!r} is not a default theme")
            topic = self.items(f"{where}: topic", value.get("topic", []), lists, lang)
            for p in topic:
                if p in seen:
                    self.problem(where, f"{p!r} is in another group too")
                seen.add(p)
            for item in value.get("topic", []) or []:
                if isinstance(item, str):
                    self.theme_phrases[lang][item].add(name)

    def sentiment(self, lang: str) -> None:
        name = f"{lang}/sentiment.yaml"
        document = self.read(name)
        if document is None:
            return
        self.keys(name, document, {*SENTIMENT_LISTS, *SENTIMENT_TABLES})
        listed = {
            key: self.phrase_list(f"{name}: {key}", document.get(key, []))
            for key in SENTIMENT_LISTS
        }
        for key in ("words", "phrases"):
            self.number_table(f"{name}: {key}", document.get(key, {}), -1.0, 1.0)
        self.number_table(f"{name}: boosters", document.get("boosters", {}), -1.0, 1.0)
        for word in sorted(set(listed["short_negators"]) - set(listed["negators"])):
            self.problem(f"{name}: short_negators", f"{word!r} is not among the negators")

    def words(self, lang: str) -> None:
        name = f"{lang}/words.yaml"
        document = self.read(name)
        if document is None:
            return
        self.keys(name, document, {*WORD_LISTS, "misspellings"})
        for key in WORD_LISTS:
            self.phrase_list(f"{name}: {key}", document.get(key, []))
        table = document.get("misspellings", {})
        if not isinstance(table, dict):
            self.problem(f"{name}: misspellings", "a mapping of misspelling to word")
            return
        for wrong, right in table.items():
            if self.phrase(f"{name}: misspellings", wrong) and " " in wrong:
                self.problem(f"{name}: misspellings", f"{wrong!r} is not one word")
            self.phrase(f"{name}: misspellings: {wrong}", right)

    def common(self) -> None:
        document = self.read("emoji.yaml")
        if document is not None:
            self.keys("emoji.yaml", document, {"emoji", "emoticons"})
            for key in ("emoji", "emoticons"):
                self.number_table(f"emoji.yaml: {key}", document.get(key, {}), -1.0, 1.0)
        document = self.read("protected.yaml")
        if document is not None:
            self.keys("protected.yaml", document, {"protected"})
            self.phrase_list("protected.yaml: protected", document.get("protected", []))

    # --- copies ----------------------------------------------------------------------------

    def copies(self, lang: str, lists: dict[str, list[str]]) -> None:
        """Phrases written twice where a named list should be included instead."""
        for phrase, files in sorted(self.theme_phrases[lang].items()):
            if len(files) > 1:
                self.problem(
                    " and ".join(sorted(files)),
                    f"{phrase!r} is written in both: name it once in lists.yaml and include it",
                )
        written = [(where, run) for where, run in self.written[lang] if run]
        for name, phrases in lists.items():
            if len(phrases) < 2:
                continue
            for where, run in written:
                if where != f"{lang}/lists.yaml: {name}" and set(phrases) <= set(run):
                    self.problem(where, f"copies the list {name!r}: include it instead")
        blocks: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for where, run in written:
            for i in range(len(run) - COPIED_RUN + 1):
                blocks[tuple(run[i : i + COPIED_RUN])].append(where)
        for block, places in blocks.items():
            if len(places) > 1:
                self.problem(" and ".join(places), f"both write {', '.join(block)}: name them once")


def problems(root: Path) -> list[str]:
    """What is wrong with the data directory at ``root`` (nothing: an empty list)."""
    return Checker(root).run()


def test_the_shipped_word_data_has_no_problem() -> None:
    assert problems(DATA) == []


# --- the check can fail --------------------------------------------------------------------


def _edit(name: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = root / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return edit


def _append(name: str, text: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        with (root / name).open("a", encoding="utf-8") as fh:
            fh.write(text)

    return edit


def _add_file(name: str, text: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")

    return edit


@pytest.mark.parametrize(
    ("breakage", "says"),
    [
        (_edit("fr/lexicon/price.yaml", "topic:\n", "topic:\n  - prix\n"), "'prix' twice"),
        (_append("en/lexicon/price.yaml", "colour:\n  - red\n"), "unknown kind 'colour'"),
        (_append("fr/lexicon/packaging.yaml", "hint:\n  - include: boxes\n"), "include 'boxes'"),
        (_add_file("fr/lexicon/gift_wrap.yaml", "topic: [papier cadeau]\n"), "unexpected file"),
        (_add_file("de/words.yaml", "function: [der]\n"), "unexpected file"),
        (lambda root: (root / "en/lexicon/price.yaml").unlink(), "en/lexicon/price.yaml: missing"),
        (_edit("fr/words.yaml", "skip:\n", "skip:\n  - 7: 3\n"), "is not a phrase"),
        (_edit("en/sentiment.yaml", "words:\n", "words:\n  splendiferous: lots\n"), "not a number"),
        (_edit("en/sentiment.yaml", "words:\n", "words:\n  splendiferous: 3\n"), "not a number"),
        (_edit("fr/sentiment.yaml", "words:\n", "words:\n  bien: 0.1\n"), "written twice"),
        (_edit("fr/lexicon/price.yaml", "topic:\n", "topic:\n  - en # fois\n"), 'a "#"'),
        (_append("fr/lists.yaml", "\nunused:\n  - rien\n"), "never included"),
        (
            _edit("fr/lexicon/price.yaml", "topic:\n", "topic:\n  - rupture de stock\n"),
            "is written in both",
        ),
        (
            _edit(
                "en/lexicon/website_ux.yaml",
                "topic:\n",
                "topic:\n  - royal mail\n  - evri\n  - hermes\n  - dpd\n",
            ),
            "both write royal mail, evri, hermes, dpd",
        ),
        (
            _edit(
                "fr/lexicon/returns_refunds.yaml", "topic:\n", "topic:\n  - remboursé sans souci\n"
            ),
            "",  # a new phrase is fine
        ),
        (
            _edit(
                "fr/shared.yaml",
                "themes: [delivery_cost, returns_refunds]",
                "themes: [delivery_cost, gift_wrap]",
            ),
            "'gift_wrap' is not a default theme",
        ),
        (
            _edit("fr/lexicon/delivery_cost.yaml", "      gap: false\n", "      gap: none\n"),
            "gap is true or false",
        ),
    ],
)
def test_a_broken_copy_of_the_data_has_its_problem_named(
    tmp_path: Path, breakage: Callable[[Path], None], says: str
) -> None:
    # Given a copy of the shipped data with one mistake
    root = tmp_path / "data"
    shutil.copytree(DATA, root)
    breakage(root)
    # When it is checked
    found = problems(root)
    # Then the mistake is named (and a harmless change passes)
    if says:
        assert any(says in problem for problem in found), found
    else:
        assert found == []


# --- the data as the tagger reads it ---------------------------------------------------------


def test_the_loaders_read_every_theme_in_both_languages() -> None:
    for lang in LANGS:
        built = lexicon.load(lang)
        assert tuple(built.themes) == THEMES
        for key, entries in built.themes.items():
            assert built.weak[key] <= set(entries.aside), (lang, key)
        assert sentiment.load(lang).words
    assert lexicon.named_lists("fr")["carriers"][:2] == ("colissimo", "chronopost")
    assert "frais … livraison" not in lexicon.load("fr").themes["delivery_cost"].topic
    assert "frais livraison" in lexicon.load("fr").themes["delivery_cost"].topic  # gap: false


def test_nothing_is_read_when_the_package_is_imported() -> None:
    # Given a fresh interpreter
    script = textwrap.dedent(
        """
        import cxloop.themes
        from cxloop.themes import Tagger, wordlists
        before = wordlists.read.cache_info().currsize
        Tagger(embeddings=False)
        print(before, wordlists.read.cache_info().currsize)
        """
    )
    # When it imports the package (this tree's, whatever is installed), then builds a tagger
    path = os.pathsep.join(filter(None, (str(SRC.parent), os.environ.get("PYTHONPATH"))))
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": path},
    )
    # Then the files are read by the build, not by the import
    before, after = (int(n) for n in done.stdout.split())
    assert before == 0
    assert after == len([name for name in expected_files() if name.endswith(".yaml")])


def _package_data() -> Iterator[str]:
    pyproject = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    yield from pyproject["tool"]["setuptools"]["package-data"]["cxloop"]


def test_an_installed_package_carries_every_data_file() -> None:
    shipped = {p for pattern in _package_data() for p in SRC.glob(pattern) if p.is_file()}
    for name in expected_files():
        assert DATA / name in shipped, name
    assert wordlists.data_root().joinpath("fr", "words.yaml").is_file()
