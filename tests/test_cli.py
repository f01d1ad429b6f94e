"""The command line: JSON output, one-line refusals with exit status 2."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cxloop.config import load_settings
from cxloop.store.db import Database
from cxloop.workspaces import service

CXLOOP = str(Path(sys.executable).with_name("cxloop"))


def run(
    tmp_path: Path, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``cxloop`` with its own home and store under tmp_path."""
    environ = dict(os.environ)
    environ["CXLOOP_HOME"] = str(tmp_path / "home")
    environ["CXLOOP_DATABASE_URL"] = f"sqlite:///{tmp_path / 'store.db'}"
    environ.update(env)
    return subprocess.run(
        [CXLOOP, *args], env=environ, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_workspace_create_prints_its_keys_as_json(tmp_path: Path) -> None:
    result = run(tmp_path, "workspace", "create", "Chez Lou", "--locale", "en", "--json")
    assert result.returncode == 0, result.stderr
    created = json.loads(result.stdout)
    assert set(created) == {"workspace_id", "write_key", "admin_key"}
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    with db.session() as session:
        owner = service.resolve_key(session, created["admin_key"])
    assert owner == service.KeyOwner(created["workspace_id"], "admin")


def test_user_create_reads_the_password_from_stdin_and_joins_the_workspace(
    tmp_path: Path,
) -> None:
    ws = json.loads(run(tmp_path, "workspace", "create", "A", "--json").stdout)["workspace_id"]
    result = run(
        tmp_path,
        "user",
        "create",
        "lou@example.com",
        "--workspace",
        ws,
        "--role",
        "analyst",
        "--json",
        stdin="a long enough password\n",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["workspaces"] == [ws]
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    with db.session() as session:
        user = service.authenticate(session, "lou@example.com", "a long enough password")
        assert user is not None
        assert service.role_in(session, user.id, ws) == "analyst"


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["workspace", "create"], {}, "Missing argument 'name'"),
        (["workspace", "create", "X", "--locale", "de"], {}, "--locale"),
        (["workspace", "create", "X", "--timezone", "Nowhere/City"], {}, "timezone"),
        (["nope"], {}, "No such command 'nope'"),
        (["serve", "--port", "0"], {}, "--port"),
        (["user", "create", "a@example.com", "--password", "short"], {}, "password"),
        (
            ["user", "create", "a@example.com", "--password", "long enough pw", "-w", "ws_x"],
            {},
            "workspace",
        ),
        (["init"], {"CXLOOP_WORKER_THREADS": "many"}, "CXLOOP_WORKER_THREADS"),
        (["init"], {"CXLOOP_DATABASE_URL": "mysql://x"}, "CXLOOP_DATABASE_URL"),
        (["init"], {"CXLOOP_QUEUE_URL": "amqp://x"}, "CXLOOP_QUEUE_URL"),
        (["init"], {"CXLOOP_EMBEDDINGS_MODEL": "/no/such/model"}, "CXLOOP_EMBEDDINGS_MODEL"),
        (["feedback", "retag", "--workspace", "ws_nowhere"], {}, "no workspace 'ws_nowhere'"),
        (["analytics", "run", "--workspace", "ws_nowhere"], {}, "no workspace 'ws_nowhere'"),
    ],
)
def test_refusals_are_one_line_on_stderr_with_exit_2(
    tmp_path: Path, args: list[str], env: dict[str, str], says: str
) -> None:
    result = run(tmp_path, *args, **env)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert says in lines[0]


def test_a_refused_user_leaves_nothing_behind(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "user",
        "create",
        "a@example.com",
        "--password",
        "long enough pw",
        "-w",
        "ws_missing",
    )
    assert result.returncode == 2
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    with db.session() as session:
        assert service.authenticate(session, "a@example.com", "long enough pw") is None


def test_init_reports_the_store(tmp_path: Path) -> None:
    result = run(tmp_path, "init")
    assert result.returncode == 0
    assert "store: sqlite (schema up to date)" in result.stdout
    assert (tmp_path / "store.db").exists()


def test_the_demo_summary_tells_the_nps_story(tmp_path: Path) -> None:
    # when the demo store is built without serving it
    result = run(tmp_path, "demo", "--no-serve", "--json", "--customers", "1500", "--seed", "3")
    # then its summary has the NPS with its interval, and the themes that cost the most,
    # led by late deliveries as the generator's story has it
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    nps = summary["nps"]
    assert set(nps) == {"score", "ci95", "responses"} and nps["responses"] > 50
    assert nps["ci95"][0] < nps["score"] < nps["ci95"][1]
    assert summary["top_drivers"][0] == "delivery_delay"
    assert len(set(summary["top_drivers"])) == len(summary["top_drivers"]) >= 3
    # and the shopping assistant held a month of conversations, some handed to the team, some
    # answered the NPS question in conversation
    chats = summary["assistant"]
    assert chats["conversations"] == 60 and chats["faq_entries"] == 12
    assert chats["handoffs"] >= 1 and chats["nps_answers"] >= 5
    # and the six playbooks ran over the last weeks: people entered, some held out, messages,
    # coupons and (for detractors) cases
    journeys = summary["journeys"]
    assert set(journeys) == {
        "detractor_recovery",
        "passive_conversion",
        "promoter_advocacy",
        "shipping_delay",
        "win_back",
        "high_potential_welcome",
    }
    for key, figures in journeys.items():
        assert set(figures) == {"entered", "holdout", "messages", "coupons", "cases"}, key
        assert figures["entered"] > figures["holdout"] >= 0, key
        assert figures["messages"] > 0 and figures["coupons"] > 0, key
    assert journeys["detractor_recovery"]["cases"] > 0
    assert sum(f["holdout"] for f in journeys.values()) > 0
    # and the site's campaigns decided two weeks of visits: banners, messages, clicks
    site = summary["site_campaigns"]
    assert site["banners"] > 100 and site["messages"] > 0 and site["clicks"] > 0
    # and the console login is printed even though nothing is served yet, and it signs in
    email = re.search(r"Email / e-mail: (\S+)", result.stderr)
    password = re.search(r"Password / mot de passe: (.+)", result.stderr)
    assert email is not None and password is not None, result.stderr
    db = Database(f"sqlite:///{tmp_path / 'store.db'}")
    with db.session() as session:
        user = service.authenticate(session, email.group(1), password.group(1).strip())
    assert user is not None


@pytest.mark.parametrize(
    ("host", "environment", "expected"),
    [
        ("127.0.0.1", {}, "http://127.0.0.1:8123"),
        ("0.0.0.0", {}, "http://127.0.0.1:8123"),  # noqa: S104
        ("::1", {}, "http://[::1]:8123"),
        ("127.0.0.1", {"CXLOOP_PUBLIC_URL": "https://cx.example.com/"}, "https://cx.example.com"),
    ],
)
def test_survey_links_follow_the_served_port_unless_public_url_is_set(
    monkeypatch: pytest.MonkeyPatch, host: str, environment: dict[str, str], expected: str
) -> None:
    # given the settings of a server started on port 8123
    monkeypatch.delenv("CXLOOP_PUBLIC_URL", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    # when it serves
    settings.served_at(host, 8123)
    # then the links it writes point at it, or where CXLOOP_PUBLIC_URL says
    assert settings.public_url == expected
