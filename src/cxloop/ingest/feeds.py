"""Google Merchant Center product feeds: RSS 2.0 or Atom XML with the ``g:`` namespace.

Each item comes out as the feed's attributes by name (``id``, ``title``, ``price``...) with the
line it starts on, for error messages; TSV feeds have the same columns and are read by
``ingest.imports`` like CSV. XML is read as a stream, so a large feed is not
held in memory; documents with a DTD are refused (no feed needs one, and entity tricks live
there).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from pathlib import Path

GOOGLE_NS = "http://base.google.com/ns/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"
ITEM_TAGS = {"item", f"{{{ATOM_NS}}}entry"}
# Plain RSS and Atom elements that stand for a feed attribute when no g: element gives it.
PLAIN = {
    "title": "title",
    "link": "link",
    "description": "description",
    f"{{{ATOM_NS}}}title": "title",
    f"{{{ATOM_NS}}}summary": "description",
    f"{{{ATOM_NS}}}content": "description",
    f"{{{ATOM_NS}}}id": "atom_id",
}
Row = dict[str, str]


class FeedError(ValueError):
    """A feed that cannot be read; ``line`` is where reading stopped."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def sniff(path: Path, head: str) -> str:
    """``xml``, ``tsv`` or ``csv``: by extension, else by the first characters."""
    suffix = path.suffix.lower()
    if suffix in (".xml", ".rss", ".atom"):
        return "xml"
    if suffix == ".tsv":
        return "tsv"
    if suffix == ".csv":
        return "csv"
    text = head.lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        return "xml"
    first = text.split("\n", 1)[0]
    return "tsv" if "\t" in first else "csv"


def _fields(item: ET.Element) -> Row:
    row: Row = {}
    plain: Row = {}
    for child in item:
        tag = child.tag if isinstance(child.tag, str) else ""
        text = "".join(child.itertext()).strip()
        if tag.startswith(f"{{{GOOGLE_NS}}}"):
            name = tag.split("}", 1)[1]
            # A repeated attribute (several sizes, say) keeps every value, comma-separated.
            row[name] = (
                f"{row[name]},{text}" if name in row and text else (text or row.get(name, ""))
            )
        elif tag == f"{{{ATOM_NS}}}link":
            if child.get("rel", "alternate") == "alternate" and child.get("href"):
                plain["link"] = child.get("href", "").strip()
        elif tag in PLAIN:
            plain[PLAIN[tag]] = text
    for name, text in plain.items():
        row.setdefault(name, text)
    return row


def xml_items(lines: Iterable[str]) -> Iterator[tuple[int, Row]]:
    """Each ``<item>`` (RSS) or ``<entry>`` (Atom) of a feed, with its starting line."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start", "end"))
    stack: list[ET.Element] = []
    started: dict[int, int] = {}
    number = 0
    for number, line in enumerate(lines, start=1):
        if "<!DOCTYPE" in line or "<!ENTITY" in line:
            raise FeedError(number, "feeds with a DTD (<!DOCTYPE or <!ENTITY) are not accepted")
        try:
            parser.feed(line)
            events = list(parser.read_events())
        except ET.ParseError as exc:
            raise FeedError(number, f"not well-formed XML ({exc})") from None
        for pair in events:
            # Only start and end events were asked for: each is a pair with an element.
            assert len(pair) == 2 and isinstance(pair[1], ET.Element)
            event, element = pair[0], pair[1]
            if event == "start":
                stack.append(element)
                if element.tag in ITEM_TAGS:
                    started[id(element)] = number
                continue
            stack.pop()
            if element.tag in ITEM_TAGS:
                yield started.pop(id(element), number), _fields(element)
                if stack:
                    stack[-1].remove(element)  # keep memory flat on large feeds
    try:
        parser.close()
    except ET.ParseError as exc:
        raise FeedError(number, f"not well-formed XML ({exc})") from None
