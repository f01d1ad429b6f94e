"""The public data sets beside the project (CDNOW, UCI Online Retail), read where they are and
never copied into it: ``$CXLOOP_SHARED_DATA``, else ``../shared/data`` beside the checkout, else
``/work/shared/data`` (where a clone made elsewhere, as CI's, finds them)."""

from __future__ import annotations

import os
from pathlib import Path

_CANDIDATES = [
    os.environ.get("CXLOOP_SHARED_DATA", ""),
    str(Path(__file__).resolve().parents[3] / "shared" / "data"),
    "/work/shared/data",
]


def shared_data(*parts: str) -> Path:
    """The path of ``parts`` under the first data folder that holds it; an error naming the
    places looked at otherwise (a test that needs the data fails, it never skips)."""
    for base in filter(None, _CANDIDATES):
        path = Path(base, *parts)
        if path.exists():
            return path
    raise FileNotFoundError(
        f"{'/'.join(parts)} not found under {[c for c in _CANDIDATES if c]}: "
        "set CXLOOP_SHARED_DATA to the shared data folder"
    )
