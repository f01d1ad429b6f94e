"""Charts date their axes in the reader's language, as the tables beside them do."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from fastapi.testclient import TestClient

from cxloop.demo import nps as demo_nps
from cxloop.demo.generator import history_end
from cxloop.demo.service import build_demo
from tests.helpers.console import login

ISO_DAY = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


def _chart(html: str, element: str) -> dict:
    start = html.index(f'id="{element}">') + len(element) + 6
    return json.loads(html[start : html.index("</script>", start)])


@pytest.mark.parametrize(
    ("language", "month", "week"),
    [
        ("fr-FR,fr;q=0.9", r"^[a-zéû]+\.? \d{4}$", r"^\d{1,2} [a-zéû]+\.? \d{4}$"),
        ("en-GB,en;q=0.9", r"^[A-Z][a-z]{2} \d{4}$", r"^[A-Z][a-z]{2} \d{1,2}, \d{4}$"),
    ],
)
def test_chart_axes_are_dated_in_the_readers_language(
    app, db, make_user, language: str, month: str, week: str
) -> None:
    # given a store with a year of orders and answers
    today = dt.datetime.now(dt.UTC).date()
    ws = build_demo(db, customers=300, seed=3, as_of=today).workspace_id
    demo_nps.run_history(db, ws, seed=3, end=history_end(today))
    make_user("owner@example.com", ws)
    with TestClient(app, headers={"Accept-Language": language}) as client:
        login(client, "owner@example.com")
        # when the reader opens the overview and the NPS page, by month and by week
        overview = _chart(client.get(f"/w/{ws}/").text, "revenue-data")
        monthly = _chart(client.get(f"/w/{ws}/nps").text, "nps-data")
        weekly = _chart(client.get(f"/w/{ws}/nps?granularity=week").text, "nps-data")
    # then no axis shows an ISO date: months and weeks read as the tables read them
    for labels, shape in (
        (overview["labels"], month),
        (monthly["labels"], month),
        (weekly["labels"], week),
    ):
        assert labels, "a chart without points proves nothing"
        assert not [label for label in labels if ISO_DAY.match(label)]
        assert all(re.match(shape, label) for label in labels), labels
