"""Durability, proven repeatedly: `cxloop serve` killed with SIGKILL at random moments under a
bounded load, on SQLite and on PostgreSQL; every acknowledged event and survey answer is stored,
once.

Four clients call the server while it runs: Segment batches, single tracks, answers posted on
the survey page (`POST /s/{token}`) and answers through the on-site widget. A call the kill cut
(no answer, a 5xx or a 429) is sent again, the same, once the server is back. Then, server down,
the store is read. `CXLOOP_KILL_ROUNDS` sets the kills per engine (10 by default),
`CXLOOP_KILL_SEED` the seed (printed with the figures).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from cxloop import signing
from cxloop.ingest.models import Event
from cxloop.store.db import Database
from cxloop.surveys import service as surveys
from cxloop.surveys.models import Invitation, Response, Survey
from cxloop.workspaces import service as workspaces
from cxloop.workspaces.schemas import WorkspaceCreate
from tests.helpers import factories as f
from tests.helpers.services import free_port, wait_for_port

CXLOOP = str(Path(sys.executable).with_name("cxloop"))
ROUNDS = int(os.environ.get("CXLOOP_KILL_ROUNDS", "10"))
SEED = int(os.environ.get("CXLOOP_KILL_SEED") or random.SystemRandom().randrange(10**6))
SECRET = "durability-test-secret-key-0123456789abcdef"
KILL_AFTER = (0.2, 1.4)  # seconds after the server listens
PACE = 0.02  # seconds between two calls of one client: the load stays bounded
LINK_INVITATIONS = 40  # answered, then changed, in turn
WIDGET_CUSTOMERS = 10 * ROUNDS + 20  # each answers once; more than the clients get through
VISITORS = 30
COMMENTS = (
    "",
    "Livraison en retard de trois jours, colis abîmé.",
    "The parcel arrived late and the box was damaged.",
    "Très bonne qualité, le service client a répondu vite.",
    "Great quality for the price, fast delivery.",
    "",
)

pytestmark = pytest.mark.timeout(120 + 12 * ROUNDS)


@dataclass(frozen=True)
class Answer:
    """One answer a client sends for an invitation."""

    token: str
    score: int
    comment: str


@dataclass(frozen=True)
class Call:
    """One HTTP call, sent again unchanged until it is acknowledged."""

    kind: str
    path: str
    json: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message_ids: tuple[str, ...] = ()
    answer: Answer | None = None


@dataclass
class Ledger:
    """What the clients sent, what was acknowledged, and what the kills cut."""

    sent_ids: set[str] = field(default_factory=set)
    acked_ids: set[str] = field(default_factory=set)
    # Per invitation token, each answer sent, in order, and whether it was acknowledged.
    answers: dict[str, list[tuple[Answer, bool]]] = field(default_factory=dict)
    acked: Counter[str] = field(default_factory=Counter)
    cut: Counter[str] = field(default_factory=Counter)
    # The statuses of the replies that acknowledged nothing (a 5xx or a 429): none expected.
    unacknowledged: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sending(self, call: Call) -> None:
        """A call goes out (again, when it was cut)."""
        with self.lock:
            self.sent_ids.update(call.message_ids)
            if call.answer is not None:
                sent = self.answers.setdefault(call.answer.token, [])
                if not sent or sent[-1] != (call.answer, False):
                    sent.append((call.answer, False))

    def acknowledged(self, call: Call) -> None:
        """The server answered 2xx: the call is stored, it says."""
        with self.lock:
            self.acked[call.kind] += 1
            self.acked_ids.update(call.message_ids)
            if call.answer is not None:
                self.answers[call.answer.token][-1] = (call.answer, True)

    def not_acknowledged(self, call: Call, reply: httpx.Response | None) -> None:
        """The connection was cut (by the kill), or the server answered 5xx or 429."""
        with self.lock:
            self.cut[call.kind] += 1
            if reply is not None:
                self.unacknowledged[reply.status_code] += 1


class KilledServer:
    """`cxloop serve --no-worker`, started and killed round after round; clients wait here for
    the next server, so that a call cut by one kill is sent again to the next server."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self._env = env
        self._log = log
        self._changed = threading.Condition()
        self._url: str | None = None
        self._generation = 0
        self._stopped = False

    def run_round(self, rng: random.Random) -> float:
        """Start the server, let the clients at it, kill it: the seconds it listened."""
        port = free_port()
        with self._log.open("ab") as log:
            process = subprocess.Popen(
                [CXLOOP, "serve", "--no-worker", "--port", str(port)],
                env=self._env,
                stdout=log,
                stderr=log,
            )
        try:
            wait_for_port(port, timeout=60)
        except TimeoutError:
            process.kill()
            raise
        with self._changed:
            self._url, self._generation = f"http://127.0.0.1:{port}", self._generation + 1
            self._changed.notify_all()
        listened = rng.uniform(*KILL_AFTER)
        time.sleep(listened)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        with self._changed:
            self._url = None
        return listened

    def stop(self) -> None:
        """No more servers: the clients return."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    def next_server(self, after: int) -> tuple[int, str] | None:
        """The server after round ``after`` (its round and URL), once it listens; None when
        the test is over."""
        with self._changed:
            self._changed.wait_for(
                lambda: self._stopped or (self._generation > after and self._url is not None)
            )
            if self._stopped or self._url is None:
                return None
            return self._generation, self._url


def send(http: httpx.Client, call: Call) -> httpx.Response | None:
    """The server's answer to the call, or None when the connection was cut."""
    try:
        return http.post(call.path, json=call.json, data=call.form, headers=call.headers)
    except httpx.TransportError:
        return None


def client(
    server: KilledServer, calls: Generator[Call, httpx.Response, None], ledger: Ledger
) -> None:
    """Send the calls in order, each again in the next round until it is acknowledged."""
    try:
        call = next(calls)
        after = 0
        while (up := server.next_server(after)) is not None:
            generation, url = up
            with httpx.Client(base_url=url, timeout=10) as http:
                while True:
                    ledger.sending(call)
                    reply = send(http, call)
                    if reply is None or reply.status_code >= 500 or reply.status_code == 429:
                        ledger.not_acknowledged(call, reply)  # sent again next round
                        after = generation
                        break
                    if not reply.is_success:
                        ledger.errors.append(f"{call.kind} {call.path}: {reply.status_code}")
                        return
                    ledger.acknowledged(call)
                    call = calls.send(reply)
                    time.sleep(PACE)
    except StopIteration:
        return
    except Exception as exc:  # a failure in a thread must fail the test
        ledger.errors.append(repr(exc))


def segment_auth(write_key: str) -> dict[str, str]:
    """Segment's Basic authorization: the write key as user name."""
    return {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}


def batches(write_key: str, rng: random.Random) -> Generator[Call, httpx.Response, None]:
    """Segment batches of 5 to 25 calls, each with its own messageId."""
    for n in range(10**9):
        ids = tuple(f"batch-{n}-{i}" for i in range(rng.randint(5, 25)))
        body = [
            {
                "type": "track",
                "userId": f"visitor-{rng.randrange(VISITORS)}",
                "event": "Product Viewed",
                "properties": {"sku": f"SKU-{rng.randrange(100)}"},
                "messageId": message_id,
            }
            for message_id in ids
        ]
        yield Call("batch", "/v1/batch", json={"batch": body}, headers=segment_auth(write_key),
                   message_ids=ids)  # fmt: skip


def tracks(write_key: str, rng: random.Random) -> Generator[Call, httpx.Response, None]:
    """Single Segment tracks."""
    for n in range(10**9):
        body = {
            "userId": f"visitor-{rng.randrange(VISITORS)}",
            "event": "Checkout Started",
            "messageId": f"track-{n}",
        }
        yield Call("track", "/v1/track", json=body, headers=segment_auth(write_key),
                   message_ids=(body["messageId"],))  # fmt: skip


def form_key(token: str) -> str:
    """The survey page's form key for an invitation (the server signs with SECRET)."""
    return signing.sign(SECRET, f"survey:{token}".encode())[:32]


def link_answers(tokens: list[str], rng: random.Random) -> Generator[Call, httpx.Response, None]:
    """Answers posted on the survey page: a score for each invitation, then changes, in turn,
    most with a comment (the first comment a fresh server tags builds its tagger: a second)."""
    for n in range(10**9):
        token = tokens[n % len(tokens)]
        comment = rng.choice(COMMENTS) if n >= len(tokens) else ""
        answer = Answer(token, rng.randint(0, 10), comment)
        form = {"score": str(answer.score), "comment": answer.comment, "key": form_key(token)}
        yield Call("link", f"/s/{token}", form=form, answer=answer)


def widget_answers(
    write_key: str, user_ids: list[str], rng: random.Random
) -> Generator[Call, httpx.Response, None]:
    """The widget on the store's pages: asks whether to show itself, then sends the score."""
    for user_id in user_ids:
        shown = yield Call(
            "widget_ask", "/widget/v1/nps", json={"writeKey": write_key, "userId": user_id}
        )
        widget = shown.json()
        assert widget["show"], f"the widget was not shown to {user_id}: {widget}"
        answer = Answer(widget["token"], rng.randint(0, 10), "")
        body = {"key": widget["key"], "score": answer.score}
        yield Call("widget", f"/s/{answer.token}/seen", json=body, answer=answer)


def stored_state(answers: list[Answer]) -> tuple[int, str] | None:
    """What the answers leave stored, in order: an empty comment keeps the one before."""
    state: tuple[int, str] | None = None
    for answer in answers:
        state = (answer.score, answer.comment or (state[1] if state else ""))
    return state


@pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_acknowledged_events_and_answers_survive_repeated_kill_9(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # given a store with a workspace, an active survey on the link and widget channels, its
    # invitations sent, and the server's settings
    url = request.getfixturevalue("sqlite_url" if engine == "sqlite" else "pg_url")
    db = Database(url)
    now = dt.datetime.now(dt.UTC)
    with db.session() as session:
        creds = workspaces.create_workspace(session, WorkspaceCreate(name="Maison Lou"))
    ws = creds.workspace_id
    survey_id = f.survey(
        db, ws, created_at=now - dt.timedelta(days=30), channels=["link", "widget"],
        send_hours=(0, 24), delay_hours=0,
    )  # fmt: skip
    links = [token for _, token in f.sent_invitations(db, ws, LINK_INVITATIONS, now)]
    with db.session() as session:  # the widget first, for the customers to come
        survey = session.get(Survey, survey_id)
        assert survey is not None
        definition = surveys.definition_of(survey)
        surveys.save_survey(
            session,
            ws,
            definition.model_copy(update={"channels": ["widget", "link"]}),
            actor="test",
        )
    widget_users = [user for user, _ in f.sent_invitations(db, ws, WIDGET_CUSTOMERS, now)]
    env = dict(
        os.environ,
        CXLOOP_HOME=str(tmp_path / "home"),
        CXLOOP_DATABASE_URL=url,
        CXLOOP_SECRET_KEY=SECRET,
    )
    server = KilledServer(env, tmp_path / "serve.log")
    ledger = Ledger()
    rng = random.Random(SEED)
    streams = [
        batches(creds.write_key, random.Random(rng.random())),
        tracks(creds.write_key, random.Random(rng.random())),
        link_answers(links, random.Random(rng.random())),
        widget_answers(creds.write_key, widget_users, random.Random(rng.random())),
    ]
    threads = [
        threading.Thread(target=client, args=(server, calls, ledger), daemon=True)
        for calls in streams
    ]
    # when the server is killed with SIGKILL at a random moment, ROUNDS times, under load
    started = time.monotonic()
    for thread in threads:
        thread.start()
    listened = []
    try:
        for _ in range(ROUNDS):
            listened.append(server.run_round(rng))
    finally:
        server.stop()
        for thread in threads:
            thread.join(timeout=30)
    took = time.monotonic() - started
    # then, server down, every acknowledged event is stored once, and nothing twice
    with db.session() as session:
        counts = dict(
            session.execute(
                select(Event.message_id, func.count())
                .where(Event.workspace_id == ws)
                .group_by(Event.message_id)
            ).all()
        )
        rows = session.execute(
            select(Invitation.token, Response.score, Response.comment, Response.status)
            .join(Response, Response.invitation_id == Invitation.id)
            .where(Response.workspace_id == ws)
        ).all()
        responses = session.scalar(
            select(func.count()).select_from(Response).where(Response.workspace_id == ws)
        )
    db.dispose()
    answered = sum(1 for sent in ledger.answers.values() if any(acked for _, acked in sent))
    print(
        f"\ndurability on {engine}: seed {SEED}, {ROUNDS} kills in {took:.0f} s "
        f"(each {min(listened):.2f} to {max(listened):.2f} s after the server listened); "
        f"{len(ledger.acked_ids)} events acknowledged ({ledger.acked['batch']} batches, "
        f"{ledger.acked['track']} tracks), {len(counts)} stored "
        f"({len(counts.keys() - ledger.acked_ids)} never acknowledged); "
        f"{ledger.acked['link'] + ledger.acked['widget']} answers acknowledged "
        f"({ledger.acked['link']} on the page, {ledger.acked['widget']} through the widget, "
        f"{answered} invitations); calls cut {sum(ledger.cut.values())} {dict(ledger.cut)}; "
        f"5xx or 429 {dict(ledger.unacknowledged)}; lost {len(ledger.acked_ids - counts.keys())}, "
        f"twice {sum(1 for count in counts.values() if count > 1)}"
    )
    assert ledger.errors == []
    assert all(not thread.is_alive() for thread in threads)
    lost = ledger.acked_ids - counts.keys()
    assert lost == set(), f"{len(lost)} acknowledged events lost"
    twice = {message_id for message_id, count in counts.items() if count != 1}
    assert twice == set(), f"{len(twice)} events stored more than once"
    assert counts.keys() <= ledger.sent_ids
    # and each invitation answered holds one confirmed answer: the last acknowledged one, or
    # the one sent after it that no acknowledgement reached
    assert responses == len(rows) == len({token for token, *_ in rows})
    stored = {token: (score, comment, status) for token, score, comment, status in rows}
    for token, sent in ledger.answers.items():
        acked = [answer for answer, ok in sent if ok]
        possible = {stored_state(acked)}
        if not sent[-1][1]:
            possible.add(stored_state([answer for answer, _ in sent]))
        found = stored.get(token)
        assert (found[:2] if found else None) in possible, f"invitation {token}: {found}"
        assert found is None or found[2] == "confirmed"
    assert stored.keys() <= ledger.answers.keys()
