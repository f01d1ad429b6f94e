"""Console sessions kept on the server: sign-out, revocation, timeouts, password changes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.web.deps import SESSION_ID
from cxloop.workspaces import service, sessions
from cxloop.workspaces.models import AuditEntry, User, UserSession
from tests.helpers.console import csrf_of, login

COOKIE = "cxloop_session"


def _sid(cookie: str) -> str:
    """The session id inside a signed cookie (base64 JSON, then timestamp and signature)."""
    payload = cookie.split(".")[0]
    data = json.loads(base64.b64decode(payload + "=" * (-len(payload) % 4)))
    return str(data[SESSION_ID])


def _actions(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_cookie_replayed_after_sign_out_is_refused(
    app: FastAPI, db: Database, make_workspace, make_user
) -> None:
    # given a signed-in user whose cookie an attacker copied
    creds = make_workspace()
    make_user("lou@example.com", creds.workspace_id)
    with TestClient(app) as client:
        page = login(client, "lou@example.com")
        assert page.url.path == f"/w/{creds.workspace_id}/"
        stolen = client.cookies[COOKIE]
        # when she signs out
        client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    # then the copied cookie no longer opens the console
    with TestClient(app, cookies={COOKIE: stolen}) as replay:
        after = replay.get(f"/w/{creds.workspace_id}/")
    assert after.url.path == "/login"
    assert after.history[0].headers["location"] == f"/login?next=/w/{creds.workspace_id}/"
    assert _actions(db)[-2:] == ["session.start", "session.end"]


def test_the_store_keeps_only_the_digest_of_the_session_id(
    app: FastAPI, db: Database, make_workspace, make_user
) -> None:
    creds = make_workspace()
    make_user("lou@example.com", creds.workspace_id)
    with TestClient(app, headers={"User-Agent": "Firefox/" + "x" * 300}) as client:
        login(client, "lou@example.com")
        sid = _sid(client.cookies[COOKIE])
    with db.session() as session:
        row = session.scalars(select(UserSession)).one()
        assert row.token_hash == hashlib.sha256(sid.encode()).hexdigest()
        assert sid not in (row.token_hash, row.user_agent, row.ip)
        assert row.user_agent == ("Firefox/" + "x" * 300)[:200]
        assert row.ip == "testclient"
        assert row.expires_at - row.created_at == sessions.LIFETIME
    assert _actions(db)[-1] == "session.start"


def test_an_idle_or_too_old_session_is_refused(db: Database, make_user) -> None:
    # given a session started at t0
    user = make_user("lou@example.com")
    t0 = utcnow()
    with db.session() as session:
        started = sessions.start(session, session.get(User, user.id), now=t0)
    value = started.cookie_value
    with db.session() as session:
        # seen every few hours, it lives until its lifetime is over
        seen = t0
        while seen + dt.timedelta(hours=7) < t0 + sessions.LIFETIME:
            seen += dt.timedelta(hours=7)
            assert sessions.resolve(session, value, now=seen) is not None
        assert sessions.resolve(session, value, now=t0 + sessions.LIFETIME) is None
    with db.session() as session:
        other = sessions.start(session, session.get(User, user.id), now=t0).cookie_value
    with db.session() as session:
        # left alone longer than the idle timeout, it is over
        assert sessions.resolve(session, other, now=t0 + sessions.IDLE_TIMEOUT) is None
        assert sessions.resolve(session, "not a session id", now=t0) is None


def test_sessions_past_their_lifetime_are_dropped_at_the_next_sign_in(
    db: Database, make_user
) -> None:
    # given a session from last week, one from yesterday and another user's old one
    lou, max_ = make_user("lou@example.com"), make_user("max@example.com")
    t0 = utcnow() - sessions.LIFETIME - dt.timedelta(minutes=1)
    with db.session() as session:
        sessions.start(session, session.get(User, lou.id), now=t0)
        sessions.start(session, session.get(User, lou.id), now=utcnow() - dt.timedelta(days=1))
        sessions.start(session, session.get(User, max_.id), now=t0)
    # when she signs in again
    with db.session() as session:
        sessions.start(session, session.get(User, lou.id))
    # then her expired session is gone; the others stay
    with db.session() as session:
        rows = session.execute(select(UserSession.user_id, UserSession.created_at)).all()
        assert sorted(user_id for user_id, _ in rows) == sorted([lou.id, lou.id, max_.id])
        assert all(created > t0 for user_id, created in rows if user_id == lou.id)


def test_last_seen_is_written_at_most_once_a_minute(db: Database, make_user) -> None:
    user = make_user("lou@example.com")
    t0 = utcnow()
    with db.session() as session:
        value = sessions.start(session, session.get(User, user.id), now=t0).cookie_value
    with db.session() as session:
        found = sessions.resolve(session, value, now=t0 + dt.timedelta(seconds=59))
        assert found is not None
        assert found[1].last_seen_at == t0
        found = sessions.resolve(session, value, now=t0 + dt.timedelta(seconds=61))
        assert found is not None
        assert found[1].last_seen_at == t0 + dt.timedelta(seconds=61)


def test_a_user_lists_her_sessions_and_revokes_another_device(
    app: FastAPI, db: Database, make_workspace, make_user
) -> None:
    # given the same user signed in on a laptop and a phone
    creds = make_workspace()
    make_user("lou@example.com", creds.workspace_id)
    with TestClient(app) as laptop, TestClient(app, headers={"User-Agent": "Phone"}) as phone:
        page = login(laptop, "lou@example.com")
        login(phone, "lou@example.com")
        # when she lists her sessions from the laptop
        listed = laptop.get("/account/sessions")
        assert listed.status_code == 200
        assert listed.headers["cache-control"] == "no-store"
        rows = listed.json()
        assert sorted(r["current"] for r in rows) == [False, True]
        assert {r["user_agent"] for r in rows} == {"Phone", "testclient"}
        phone_id = next(r["id"] for r in rows if r["user_agent"] == "Phone")
        # a revocation without the CSRF token is refused
        refused = laptop.post(f"/account/sessions/{phone_id}/revoke", data={})
        assert refused.status_code == 403
        # and with it, the phone is signed out while the laptop stays in
        done = laptop.post(
            f"/account/sessions/{phone_id}/revoke", data={"csrf_token": csrf_of(page.text)}
        )
        assert done.json() == {"revoked": phone_id}
        assert phone.get(f"/w/{creds.workspace_id}/").url.path == "/login"
        assert laptop.get(f"/w/{creds.workspace_id}/").url.path == f"/w/{creds.workspace_id}/"
        assert [r["user_agent"] for r in laptop.get("/account/sessions").json()] == ["testclient"]
    assert _actions(db)[-1] == "session.revoke"


def test_sessions_of_someone_else_are_neither_listed_nor_revocable(
    app: FastAPI, make_workspace, make_user
) -> None:
    creds = make_workspace()
    make_user("lou@example.com", creds.workspace_id)
    make_user("max@example.com", creds.workspace_id)
    with TestClient(app) as lou, TestClient(app) as max_:
        page = login(lou, "lou@example.com")
        login(max_, "max@example.com")
        max_id = max_.get("/account/sessions").json()[0]["id"]
        assert len(lou.get("/account/sessions").json()) == 1
        answer = lou.post(
            f"/account/sessions/{max_id}/revoke", data={"csrf_token": csrf_of(page.text)}
        )
        assert answer.status_code == 404
        assert max_.get(f"/w/{creds.workspace_id}/").status_code == 200
    with TestClient(app) as stranger:
        assert stranger.get("/account/sessions").status_code == 401


def test_a_password_change_ends_every_other_session(db: Database, make_user) -> None:
    # given a user with three sessions
    user = make_user("lou@example.com")
    with db.session() as session:
        me = session.get(User, user.id)
        values = [sessions.start(session, me).cookie_value for _ in range(3)]
        kept = sessions.resolve(session, values[0])
        assert kept is not None
        kept_id = kept[1].id
    # when she changes her password from the first one
    with db.session() as session:
        service.set_password(
            session, session.get(User, user.id), "a brand new secret", keep_session=kept_id
        )
    # then only that one is still live, and the change is audited with the count
    with db.session() as session:
        assert [sessions.resolve(session, v) is not None for v in values] == [True, False, False]
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None
        assert (entry.action, entry.data) == ("user.password", {"sessions_revoked": 2})
    # and a change from the command line ends them all
    with db.session() as session:
        service.set_password(session, session.get(User, user.id), "another new secret")
        assert sessions.resolve(session, values[0]) is None
