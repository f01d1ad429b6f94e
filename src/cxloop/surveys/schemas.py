"""API models of the NPS program."""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

# ---------------------------------------------------------------------------------------------
# NPS statistics and the dashboard (stats.py, dashboard.py)
# ---------------------------------------------------------------------------------------------

Category = Literal["detractor", "passive", "promoter"]
# no_answers: n = 0; very_small_sample: n < 10; small_sample: 10 <= n < 30 (see stats.py).
SampleWarning = Literal["no_answers", "very_small_sample", "small_sample"]
Granularity = Literal["week", "month"]
Dimension = Literal["touchpoint", "channel", "locale", "country", "product_category", "segment"]
FunnelStepName = Literal["invited", "delivered", "opened", "clicked", "confirmed", "commented"]


class NpsSummary(BaseModel):
    """An NPS with its counts and its 95% adjusted-Wald interval, in points (−100..100)."""

    n: int
    promoters: int
    passives: int
    detractors: int
    # %promoters − %detractors from the raw counts; None without answers.
    nps: float | None
    # Adjusted-Wald 95% interval, clipped to [−100, 100]; None without answers.
    ci95: tuple[float, float] | None
    # Half-width of the interval before clipping (1.96 × standard error), in points.
    margin: float | None
    warning: SampleWarning | None


class Comparison(BaseModel):
    """Whether NPS b differs from NPS a: z test on the adjusted-Wald difference."""

    # b − a in points (raw NPS values); None when either side has no answers.
    diff: float | None
    z: float | None
    p_value: float | None
    significant: bool


class DashboardFilters(BaseModel):
    """What the dashboard looks at: a time range (start inclusive, end exclusive) and slices."""

    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    survey_id: int | None = None
    channel: str | None = None
    touchpoint: str | None = None
    locale: str | None = None

    @model_validator(mode="after")
    def _range_in_order(self) -> DashboardFilters:
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ScoreCount(BaseModel):
    """How many confirmed answers gave one score."""

    score: int
    count: int


class NpsOverview(BaseModel):
    """The headline: the NPS with its interval and the 0–10 distribution (always 11 rows)."""

    summary: NpsSummary
    distribution: list[ScoreCount]


class TrendPoint(BaseModel):
    """One week (starting Monday) or calendar month, UTC, and its change from the previous one."""

    period_start: dt.date
    summary: NpsSummary
    # None for the first period, or when this period or the previous one has no answers.
    vs_previous: Comparison | None
    # The period is still running: its answers so far, not a whole period's (no significance
    # star for it: a few days against a full week say little).
    partial: bool = False


class Trend(BaseModel):
    """The NPS per period, every period of the range present (empty ones with n = 0)."""

    granularity: Granularity
    points: list[TrendPoint]


class BreakdownRow(BaseModel):
    """The NPS of one group; ``key`` None gathers answers whose value is unknown."""

    key: str | None
    summary: NpsSummary


class Breakdown(BaseModel):
    """The NPS per value of one dimension, largest groups first."""

    dimension: Dimension
    rows: list[BreakdownRow]


class VerbatimFilters(BaseModel):
    """Which comments to list: category, score range, words in the comment, theme, language."""

    category: Category | None = None
    min_score: int | None = Field(default=None, ge=0, le=10)
    max_score: int | None = Field(default=None, ge=0, le=10)
    text: str | None = Field(default=None, max_length=200)
    theme: str | None = Field(default=None, max_length=64)
    # Only the comments in another language than French or English (recognised, not tagged).
    other_languages: bool = False


class Verbatim(BaseModel):
    """A confirmed answer with a comment, as the verbatims list shows it."""

    response_id: int
    survey_id: int | None
    customer_id: int | None
    score: int
    category: Category
    comment: str
    followup: str
    channel: str
    locale: str
    # The comment's language (ISO 639-1); not fr or en: recognised, not tagged. None: not known.
    lang: str | None = None
    themes: list[str]
    created_at: dt.datetime


class VerbatimPage(BaseModel):
    """One page of verbatims, newest first."""

    items: list[Verbatim]
    offset: int
    limit: int
    has_more: bool


class FunnelStep(BaseModel):
    """One step of the response funnel."""

    step: FunnelStepName
    count: int
    # Share of the invited; None when nobody was invited.
    rate: float | None
    # Share of the step before; None for the first step or when the step before is 0.
    step_rate: float | None


class ChannelFunnel(BaseModel):
    """The funnel of one channel (``channel`` "all" for every channel together)."""

    channel: str
    steps: list[FunnelStep]


class Funnel(BaseModel):
    """invited → delivered → opened → clicked a score → confirmed → commented, per channel."""

    total: ChannelFunnel
    channels: list[ChannelFunnel]


class AnswerTags(BaseModel):
    """What the themes domain says of an answer's verbatim: language, themes, sentiment, per
    theme. In another language than French or English it is recognised, not tagged: no themes,
    no sentiment."""

    themes: list[str]
    sentiment: float | None
    # One per theme: {"theme": key, "sentiment": mean sentiment of its mentions}.
    mentions: list[dict[str, object]]
    # ISO 639-1 code of the verbatim's language (None: not known).
    lang: str | None = None


# ---------------------------------------------------------------------------------------------
# Survey definitions (definitions.py reads and writes them as YAML or JSON)
# ---------------------------------------------------------------------------------------------

Locale = Literal["fr", "en"]
Channel = Literal["email", "link", "widget", "chat"]
# The channels a survey asks through (``chat``: in a conversation with the shopping assistant).
CHANNELS: tuple[str, ...] = get_args(Channel)
Trigger = Literal["order_placed", "shipment_delivered"]


class Texts(BaseModel):
    """Everything the customer reads, in one language."""

    subject: str = Field(min_length=1, max_length=200)
    intro: str = Field(default="", max_length=2000)
    question: str = Field(min_length=1, max_length=500)
    low_label: str = Field(min_length=1, max_length=100)
    high_label: str = Field(min_length=1, max_length=100)
    followup: dict[str, str]
    thanks: dict[str, str]
    reminder_intro: str = Field(default="", max_length=2000)

    @field_validator("followup", "thanks")
    @classmethod
    def _per_category(cls, value: dict[str, str]) -> dict[str, str]:
        missing = {"detractor", "passive", "promoter"} - set(value)
        if missing:
            raise ValueError(f"needs a text for {', '.join(sorted(missing))}")
        return value


class Limits(BaseModel):
    """Who is asked: a global cool-down across all surveys, and this survey's own."""

    global_cooldown_days: int = Field(default=90, ge=0, le=3650)
    survey_cooldown_days: int = Field(default=180, ge=0, le=3650)


class SurveyDefinition(BaseModel):
    """A whole survey, as the YAML API and the editor see it."""

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    active: bool = True
    trigger: Trigger
    delay_hours: float = Field(default=0, ge=0, le=24 * 90)
    channels: list[Channel] = Field(default_factory=lambda: list[Channel](["email"]), min_length=1)
    sample_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    send_hours: tuple[int, int] = (9, 20)
    reminder_after_days: int | None = Field(default=None, ge=1, le=60)
    expires_after_days: int = Field(default=30, ge=1, le=365)
    answer_window_days: int = Field(default=7, ge=0, le=365)
    lookback_days: int = Field(default=14, ge=0, le=365)
    limits: Limits = Field(default_factory=Limits)
    texts: dict[Locale, Texts]

    @field_validator("send_hours")
    @classmethod
    def _hours(cls, value: tuple[int, int]) -> tuple[int, int]:
        start, end = value
        if not (0 <= start < end <= 24):
            raise ValueError("must be two hours, start before end, within 0–24")
        return value

    @model_validator(mode="after")
    def _both_languages(self) -> SurveyDefinition:
        if set(self.texts) != {"fr", "en"}:
            raise ValueError("texts are needed in fr and en")
        return self

    @property
    def touchpoint(self) -> str:
        """``after_order`` or ``after_delivery``."""
        return "after_delivery" if self.trigger == "shipment_delivered" else "after_order"


class LinkRequest(BaseModel):
    """Who the personal link is for: the customer's user id in the store."""

    user_id: str = Field(min_length=1, max_length=255)


class PersonalLinkOut(BaseModel):
    """A customer's own survey link, for the store to send (the link channel)."""

    url: str
    token: str
    invitation_id: int
    locale: str
    expires_at: dt.datetime
    created: bool
