"""The sign-in throttle: per account and per address, with backoff, across processes."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.workspaces import throttle
from cxloop.workspaces.models import LoginThrottle
from tests.helpers.console import login


def _unblock(db: Database) -> None:
    """As if the backoff had passed: every block ends a second ago."""
    with db.session() as session:
        session.execute(
            update(LoginThrottle).values(blocked_until=utcnow() - dt.timedelta(seconds=1))
        )


def test_six_wrong_passwords_then_the_right_one_waits_for_the_backoff(
    app: FastAPI, db: Database, make_workspace, make_user
) -> None:
    # given a user
    creds = make_workspace()
    make_user("lou@example.com", creds.workspace_id)
    with TestClient(app) as client:
        # when someone tries six wrong passwords
        codes = [login(client, "lou@example.com", "wrong guess").status_code for _ in range(6)]
        # then the first five are told no, and from then on even the right one waits
        assert codes == [401] * 5 + [429]
        refused = login(client, "lou@example.com")
        assert refused.status_code == 429
        # on the sign-in page again, saying how long to wait, in the reader's language
        assert 'data-error="too_many_attempts"' in refused.text
        assert "Too many failed sign-ins. Try again in 1 minute." in refused.text
        assert 'name="password"' in refused.text
        assert 0 < int(refused.headers["retry-after"]) <= 30
        # once the backoff has passed, the right password signs in and clears the account
        _unblock(db)
        page = login(client, "lou@example.com")
        assert page.url.path == f"/w/{creds.workspace_id}/"
    with db.session() as session:
        keys = set(session.scalars(select(LoginThrottle.key)))
    assert keys == {throttle.address_key("testclient")}


def test_the_address_is_throttled_across_accounts(app: FastAPI, make_workspace, make_user):
    # given a user, and an address that guessed twenty other accounts' passwords
    creds = make_workspace()
    make_user("lou@example.com", creds.workspace_id)
    with TestClient(app) as client:
        for n in range(throttle.ADDRESS_LIMIT):
            assert login(client, f"nobody{n}@example.com", "guess").status_code == 401
        # then that address waits, even for an account it never tried
        refused = login(client, "lou@example.com")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0


def test_backoff_doubles_up_to_its_cap_and_resets_after_the_window(any_db: Database) -> None:
    db = any_db
    key = throttle.account_key("Lou@Example.com ")
    assert key == throttle.account_key("lou@example.com")
    t0 = utcnow()
    waits = []
    with db.session() as session:
        now = t0
        for _ in range(throttle.ACCOUNT_LIMIT + 7):
            now += dt.timedelta(seconds=1)
            throttle.failed(session, [key], now=now)
            waits.append(throttle.retry_after(session, [key], now=now))
    assert waits[: throttle.ACCOUNT_LIMIT - 1] == [0] * (throttle.ACCOUNT_LIMIT - 1)
    assert waits[throttle.ACCOUNT_LIMIT - 1 :] == [30, 60, 120, 240, 480, 900, 900, 900]
    # a failure after a quiet window starts the count again
    with db.session() as session:
        later = now + throttle.WINDOW + dt.timedelta(seconds=1)
        throttle.failed(session, [key], now=later)
        assert throttle.retry_after(session, [key], now=later) == 0
        assert session.get(LoginThrottle, key).failures == 1  # type: ignore[union-attr]


def test_old_rows_are_pruned_at_the_next_failure(any_db: Database) -> None:
    db = any_db
    t0 = utcnow()
    with db.session() as session:
        throttle.failed(session, [throttle.address_key("198.51.100.7")], now=t0)
    with db.session() as session:
        later = t0 + throttle.WINDOW + dt.timedelta(seconds=1)
        throttle.failed(session, [throttle.address_key("203.0.113.9")], now=later)
    with db.session() as session:
        assert set(session.scalars(select(LoginThrottle.key))) == {"ip:203.0.113.9"}


def test_a_throttled_french_reader_is_told_in_french(app: FastAPI, make_workspace, make_user):
    # given a French reader whose account guessed wrong five times
    creds = make_workspace()
    make_user("lou@example.com", creds.workspace_id)
    with TestClient(app, headers={"Accept-Language": "fr-FR,fr;q=0.9"}) as client:
        for _ in range(5):
            assert login(client, "lou@example.com", "wrong guess").status_code == 401
        # when she tries again
        refused = login(client, "lou@example.com")
    # then the page says, in French, how long to wait
    assert refused.status_code == 429
    assert "Trop de connexions" in refused.text
    assert 'lang="fr"' in refused.text
