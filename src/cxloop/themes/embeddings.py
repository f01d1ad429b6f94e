"""Optional zero-shot themes from a local sentence-embedding model (``cxloop[embeddings]``).

When the ``sentence-transformers`` package is installed and ``CXLOOP_EMBEDDINGS_MODEL`` names a
local model directory, a verbatim the lexicon found nothing in is compared (cosine similarity)
with each theme's definitions and seeds in both languages. The model is loaded from disk only
(``HF_HUB_OFFLINE=1``, ``local_files_only``): nothing is ever downloaded. Without either, the
tagger works as before and reports ``embeddings: off``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cxloop.themes.taxonomy import Taxonomy

ENV = "CXLOOP_EMBEDDINGS_MODEL"
THRESHOLD = 0.45  # cosine similarity a theme needs
MAX_THEMES = 2


def model_path() -> Path | None:
    """The local model directory from ``CXLOOP_EMBEDDINGS_MODEL``, if it exists."""
    value = os.environ.get(ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_dir() else None


@lru_cache(maxsize=2)
def _load(path: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(path, device="cpu", local_files_only=True)
    except TypeError:  # sentence-transformers before local_files_only
        return SentenceTransformer(path, device="cpu")


class EmbeddingMatcher:
    """Themes whose definitions and seeds a verbatim is close to, by cosine similarity."""

    def __init__(self, model: Any, taxonomy: Taxonomy) -> None:
        import numpy as np

        self._np = np
        self._model = model
        self._keys = taxonomy.keys
        descriptions = [
            " ; ".join(
                [
                    *theme.labels.values(),
                    *theme.definitions.values(),
                    *(seed for seeds in theme.seeds.values() for seed in seeds),
                ]
            )
            for theme in taxonomy.themes
        ]
        self._themes = self._encode(descriptions)

    def _encode(self, texts: list[str]) -> Any:
        vectors = self._np.asarray(self._model.encode(texts), dtype=float)
        norms = self._np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / self._np.where(norms == 0, 1.0, norms)

    def match(self, text: str) -> list[str]:
        """Theme keys (best first, at most two) the text is close enough to."""
        similarity = self._themes @ self._encode([text])[0]
        ranked = sorted(range(len(self._keys)), key=lambda i: -float(similarity[i]))
        return [self._keys[i] for i in ranked[:MAX_THEMES] if similarity[i] >= THRESHOLD]


def load_matcher(taxonomy: Taxonomy) -> EmbeddingMatcher | None:
    """The matcher when the extra and a local model are both there, else None."""
    path = model_path()
    if path is None:
        return None
    try:
        model = _load(str(path))
    except ImportError:
        return None
    return EmbeddingMatcher(model, taxonomy)
