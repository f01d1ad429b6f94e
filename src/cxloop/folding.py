"""Text compared without case or accents: "Écrue", "ECRUE" and "ecrue" fold to one form.

Ligatures are spelled out ("cœur" -> "coeur"), the typographic apostrophe becomes the plain
one, and what Unicode decomposes loses its combining marks. Shared by the theme tagger and
the catalog search, which must agree with shoppers who type without accents.
"""

from __future__ import annotations

import unicodedata

FOLD_TABLE = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'", "ı": "i"})


def fold(text: str) -> str:
    """Lowercase without accents ("Reçue" -> "recue"); ligatures spelled out."""
    lowered = text.lower().translate(FOLD_TABLE)
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
