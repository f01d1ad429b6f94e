"""The NPS dashboard page, over the demo store's history."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from cxloop.demo import nps as demo_nps
from cxloop.demo.generator import history_end
from cxloop.demo.service import build_demo
from tests.helpers.console import login


def test_the_dashboard_tells_the_demo_story(app, db, make_user) -> None:
    today = dt.datetime.now(dt.UTC).date()
    ws = build_demo(db, customers=1500, seed=5, as_of=today).workspace_id
    answers = demo_nps.run_history(db, ws, seed=5, end=history_end(today))
    expected = demo_nps.summary(db, ws)
    make_user("owner@example.com", ws)
    with TestClient(app) as client:
        login(client, "owner@example.com")
        page = client.get(f"/w/{ws}/nps?period=730d")
        detractors = client.get(f"/w/{ws}/nps?period=730d&category=detractor")
        french = client.get(f"/w/{ws}/nps?period=730d&q=retard")
        by_segment = client.get(f"/w/{ws}/nps?period=730d&by=segment")
        late = client.get(f"/w/{ws}/nps?period=730d&theme=delivery_delay")
        overview = client.get(f"/w/{ws}/")
    assert page.status_code == 200
    assert answers == expected.n > 50
    assert f'data-kpi="answers">{expected.n}' in page.text.replace("\u202f", "").replace(",", "")
    assert f"{expected.nps:+.0f}" in page.text
    # and the overview shows the same NPS over all time, linking to this page
    assert expected.nps is not None
    shown = overview.text.split('data-kpi="nps">')[1].split("<")[0]
    assert float(shown.replace("−", "-").replace("+", "")) == round(expected.nps, 1)
    assert "Response funnel" in page.text and "Product category" in page.text
    assert 'class="detractor"' in detractors.text and 'class="promoter"' not in detractors.text
    assert "retard" in french.text
    # why: the drivers, late deliveries costing the most as the demo's story goes, and the
    # verbatims of one theme on a click
    drivers = page.text[page.text.index('id="drivers"') : page.text.index('id="breakdowns"')]
    first_row = drivers[drivers.index("<tbody>") :].split("</tr>")[0]
    assert 'id="nps-drivers"' in drivers and "Delivery time" in first_row
    listed = late.text[late.text.index('id="verbatims"') :]
    assert listed.count("<blockquote") == listed.count("Themes: Delivery time") > 0
    # one breakdown at a time: moments by default, customers new or returning on their tab
    assert "<td>after delivery</td>" in page.text and "<td>returning customer</td>" not in page.text
    assert "<td>returning customer</td>" in by_segment.text
    assert "<td>after delivery</td>" not in by_segment.text
