"""Theme spike alerts: one signed webhook per theme and week, Slack text, email to the outbox."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cxloop.alerts import service as alerts
from cxloop.alerts.models import AlertDelivery
from cxloop.errors import InvalidInput
from cxloop.store.db import Database
from cxloop.surveys import stats
from cxloop.surveys.models import Response
from tests.helpers.webhooks import Receiver

# Thursday 19 November 2026, noon UTC: the current week started on Monday the 16th.
NOW = dt.datetime(2026, 11, 19, 12, tzinfo=dt.UTC)
WEEK = dt.date(2026, 11, 16)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def answers(db: Database, ws: str, week: dt.date, mentions: int, total: int = 20) -> None:
    """``total`` confirmed answers on the Monday of ``week``, ``mentions`` of them on delivery."""
    at = dt.datetime(week.year, week.month, week.day, 9, tzinfo=dt.UTC)
    with db.session() as session:
        for i in range(total):
            score = 3 if i < mentions else 9
            session.add(
                Response(
                    workspace_id=ws,
                    score=score,
                    category=stats.category_of(score),
                    status="confirmed",
                    channel="email",
                    themes=["delivery"] if i < mentions else ["quality"],
                    created_at=at,
                    updated_at=at,
                )
            )


def spiking_store(db: Database, ws: str) -> None:
    """Nine ordinary weeks (1 of 20 answers on delivery), then 8 of 20 this week."""
    for back in range(9, 0, -1):
        answers(db, ws, WEEK - dt.timedelta(weeks=back), mentions=1)
    answers(db, ws, WEEK, mentions=8)


def rule(db: Database, ws: str, target: str, address: str, **options: Any) -> None:
    with db.session() as session:
        alerts.create_rule(
            session,
            ws,
            name="Spikes",
            kind="theme_spike",
            target=target,
            address=address,
            **options,
        )


def test_a_spike_sends_one_signed_webhook_however_often_the_check_runs(
    db: Database, make_workspace, receiver: Receiver
) -> None:
    # given a French store whose delivery theme jumps from 5% to 40% this week
    ws = make_workspace(locale="fr").workspace_id
    rule(db, ws, "webhook", receiver.url, secret="s3cret-spike-key")
    spiking_store(db, ws)
    # when the hourly check runs twice this week, and again next Monday
    first = alerts.check_theme_spikes(db, NOW, base_url="http://cx.test")
    again = alerts.check_theme_spikes(db, NOW + dt.timedelta(hours=1), base_url="http://cx.test")
    monday = alerts.check_theme_spikes(db, NOW + dt.timedelta(days=4), base_url="http://cx.test")
    # then one alert in all
    assert (first, again, monday) == (1, 0, 0)
    [(headers, body)] = receiver.calls
    expected = "sha256=" + hmac.new(b"s3cret-spike-key", body, hashlib.sha256).hexdigest()
    assert headers["X-Cxloop-Signature"] == expected
    document = json.loads(body)
    assert {k: document[k] for k in ("kind", "type", "workspace", "theme", "week")} == {
        "kind": "theme_spike",
        "type": "nps.theme_spike",
        "workspace": ws,
        "theme": "delivery",
        "week": "2026-11-16",
    }
    assert (document["share"], document["baseline_share"]) == (0.4, 0.05)
    assert (document["mentions"], document["responses"]) == (8, 20)
    assert (document["baseline_mentions"], document["baseline_responses"]) == (8, 160)
    assert document["baseline_weeks"] == 8
    assert 0 < document["p_value"] < 0.001
    assert document["link"] == f"http://cx.test/w/{ws}/nps?granularity=week"
    # and the text is in the workspace's language
    assert document["text"] == (
        "Le thème « delivery » est présent dans 40,0% des réponses de la semaine du "
        "16 novembre 2026 (8 sur 20), contre 5,0% sur les 8 semaines précédentes."
    )
    with db.session() as session:
        [delivery] = session.scalars(select(AlertDelivery)).all()
        assert (delivery.subject_key, delivery.status) == ("spike:delivery:2026-11-16", "sent")


def test_slack_format_sends_text_in_english(
    db: Database, make_workspace, receiver: Receiver
) -> None:
    ws = make_workspace(locale="en").workspace_id
    rule(db, ws, "webhook", receiver.url, slack_format=True)
    spiking_store(db, ws)
    assert alerts.check_theme_spikes(db, NOW, base_url="http://cx.test") == 1
    [(_, body)] = receiver.calls
    assert json.loads(body) == {
        "text": "The theme “delivery” is in 40.0% of the answers of the week of November 16, "
        "2026 (8 of 20), against 5.0% over the 8 weeks before.\n"
        f"<http://cx.test/w/{ws}/nps?granularity=week|Open in cxloop>"
    }


def test_no_alert_for_other_themes_a_higher_minimum_or_an_ordinary_week(
    db: Database, make_workspace, receiver: Receiver
) -> None:
    # given rules that watch price only, or want 10 mentions, on the spiking store
    ws = make_workspace().workspace_id
    rule(db, ws, "webhook", receiver.url, filters={"themes": ["price"]})
    rule(db, ws, "webhook", receiver.url, filters={"min_mentions": 10})
    spiking_store(db, ws)
    # and a store whose week is ordinary
    calm = make_workspace(name="Calme").workspace_id
    rule(db, calm, "webhook", receiver.url)
    for back in range(9, -1, -1):
        answers(db, calm, WEEK - dt.timedelta(weeks=back), mentions=1)
    # when
    sent = alerts.check_theme_spikes(db, NOW, base_url="http://cx.test")
    # then nothing is sent, nothing recorded
    assert (sent, receiver.calls) == (0, [])
    with db.session() as session:
        assert session.scalars(select(AlertDelivery)).all() == []


def test_an_email_spike_alert_goes_to_the_outbox(
    db: Database, make_workspace, tmp_path: Path
) -> None:
    from cxloop.alerts import flows
    from cxloop.channels.models import OutboundMessage
    from cxloop.config import Settings

    # given an email rule on the spiking store
    ws = make_workspace(locale="fr").workspace_id
    rule(db, ws, "email", "cx-team@example.com")
    spiking_store(db, ws)
    settings = Settings(home=tmp_path, secret_key="k" * 40)
    # when the check runs twice
    for _ in range(2):
        alerts.check_theme_spikes(
            db,
            NOW,
            base_url="http://cx.test",
            email=flows.email_alert(settings),
            deliver=flows.deliver_mail(db, settings),
        )
    # then one message waits in the outbox, in French
    with db.session() as session:
        [message] = session.scalars(
            select(OutboundMessage).where(OutboundMessage.purpose == "alert")
        ).all()
    assert (message.to_address, message.status) == ("cx-team@example.com", "outbox")
    assert message.subject == "[cxloop] Pic du thème « delivery »"
    assert "40,0% des réponses de la semaine du 16 novembre 2026" in message.text
    assert "Lisez les commentaires de cette semaine" in message.text


def test_spike_rules_check_their_filters(db: Database, make_workspace) -> None:
    ws = make_workspace().workspace_id
    with db.session() as session:
        created = alerts.create_rule(
            session,
            ws,
            name="All themes",
            kind="theme_spike",
            target="email",
            address="cx@example.com",
            filters={"themes": []},
        )
        # the default minimum is set, an empty theme list means every theme
        assert created.filters == {"min_mentions": 5}
    for filters, field in (
        ({"themes": "delivery"}, "filters.themes"),
        ({"themes": [""]}, "filters.themes"),
        ({"min_mentions": 0}, "filters.min_mentions"),
    ):
        with pytest.raises(InvalidInput) as err, db.session() as session:
            alerts.create_rule(
                session,
                ws,
                name="Bad",
                kind="theme_spike",
                target="email",
                address="cx@example.com",
                filters=filters,
            )
        assert err.value.field == field
