"""The tagger's word data: the YAML files under ``cxloop/themes/data/``, read on first use.

Each file is parsed once per process and cached; the tagger's modules turn what they need into
typed tables (``lexicon.load``, ``sentiment.load``, ``language.function_words``,
``text.misspellings``). Every scalar is read as a string (YAML's base schema), so that words
such as "no", "on" or "24h" stay words; valences are turned into numbers here.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

import yaml

# libyaml, when PyYAML was built with it, reads the files about ten times faster than the pure
# Python parser: that time is part of building a Tagger in a fresh process.
_Loader: type[yaml.BaseLoader] = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


def data_root() -> Traversable:
    """The directory of the word data files, inside the installed package."""
    return files("cxloop.themes").joinpath("data")


@cache
def read(name: str) -> dict[str, object]:
    """One data file by its path under the data directory (``fr/words.yaml``)."""
    text = data_root().joinpath(*name.split("/")).read_text(encoding="utf-8")
    # The base loader builds only dicts, lists and strings: nothing to execute.
    document = yaml.load(text, Loader=_Loader)  # noqa: S506
    if not isinstance(document, dict):
        raise ValueError(f"{name}: a mapping of keys to lists or tables")
    return document


def section(name: str, key: str) -> object:
    """One key of a data file; a missing key is an error naming the file."""
    document = read(name)
    if key not in document:
        raise ValueError(f"{name}: no {key!r} key")
    return document[key]


def phrases(value: object, where: str) -> tuple[str, ...]:
    """A list of phrases (strings), in file order."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{where}: a list of phrases")
    return tuple(value)


def table(value: object, where: str) -> dict[str, str]:
    """A mapping of phrase to phrase (a misspelling to its word)."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{where}: a mapping of phrases to values")
    return dict(value)


def valences(value: object, where: str) -> dict[str, float]:
    """A mapping of phrase to number (a valence or an intensifier's factor), in file order."""
    found: dict[str, float] = {}
    for word, number in table(value, where).items():
        try:
            found[word] = float(number)
        except ValueError:
            raise ValueError(f"{where}: {word!r} needs a number, not {number!r}") from None
    return found
