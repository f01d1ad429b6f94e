"""Rate limits of the public survey and widget endpoints: per address, per token, per key."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from cxloop.web.limits import FixedWindow, RateLimits


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_fixed_window_counts_per_key_and_starts_again_with_the_next_window() -> None:
    clock = Clock(1000.0)  # 40 s into the window that started at 960
    window = FixedWindow(2, period=60.0, clock=clock)
    assert [window.hit("a"), window.hit("a"), window.hit("b")] == [0, 0, 0]
    assert window.hit("a") == 20  # seconds until 1020
    clock.now = 1019.5
    assert window.hit("a") == 1
    clock.now = 1020.0
    assert window.hit("a") == 0


def test_survey_posts_are_limited_per_address_then_per_token(app: FastAPI) -> None:
    # given tight limits: three posts a minute from one address, two per token
    clock = Clock()
    app.state.rate_limits = RateLimits(
        per_address=FixedWindow(3, clock=clock), per_survey_token=FixedWindow(2, clock=clock)
    )
    with TestClient(app) as client:
        # posts with a bad form key are refused by the page (403) but still counted
        first = [client.post("/s/tok_a/seen", json={"key": "x", "score": 9}) for _ in range(2)]
        assert [r.status_code for r in first] == [403, 403]
        # a third to the same token is over its limit
        third = client.post("/s/tok_a", data={"score": "9", "key": "x"})
        assert third.status_code == 429
        assert third.json()["error"] == "rate_limited"
        assert third.headers["retry-after"] == "20"
        assert third.headers["access-control-allow-origin"] == "*"
        # the address has had its three: another token waits too
        assert client.post("/s/tok_b/seen", json={"key": "x", "score": 9}).status_code == 429
        # and the next minute both go through again
        clock.now += 60
        assert client.post("/s/tok_b/seen", json={"key": "x", "score": 9}).status_code == 403


def test_the_widget_is_limited_per_address_and_per_write_key(app: FastAPI, make_workspace):
    creds = make_workspace()
    clock = Clock()
    app.state.rate_limits = RateLimits(
        per_address=FixedWindow(10, clock=clock), per_write_key=FixedWindow(2, clock=clock)
    )
    body = {"writeKey": creds.write_key, "userId": "lou"}
    with TestClient(app) as client:
        codes = [client.post("/widget/v1/nps", json=body).status_code for _ in range(3)]
        other_key = client.post("/widget/v1/nps", json={"writeKey": "cxw_0_x", "userId": "l"})
    assert codes == [200, 200, 429]
    assert other_key.status_code == 401  # another key has its own count


def test_default_limits_leave_room_for_a_busy_page() -> None:
    limits = RateLimits()
    assert limits.per_address.limit >= 100
    assert limits.per_survey_token.limit >= 20
    assert limits.per_write_key.limit >= 1000
