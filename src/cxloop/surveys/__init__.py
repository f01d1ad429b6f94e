"""The NPS program: surveys, invitations, the survey page and widget, statistics, dashboard.

This package's facade: what other domains may use. They import the package
(``from cxloop import surveys``), never one of its modules (checked by import-linter).
"""

from cxloop.surveys.dashboard import (
    MAX_PERIODS,
    nps_summary,
    period_start,
    theme_groups,
    theme_groups_by_period,
)
from cxloop.surveys.models import Invitation, Response, Survey
from cxloop.surveys.schemas import AnswerTags, DashboardFilters, NpsSummary
from cxloop.surveys.service import (
    answer_by_id,
    answer_facts,
    answer_text,
    answers_with_text,
    confirmed_between,
    customer_answers,
    decisions_for,
    export_answers,
    get_answer,
    invitation_by_id,
    invitations_sent_since,
    last_answers,
    scores_in_windows,
    set_answer_tags,
    set_corrected_themes,
    survey_by_id,
)
from cxloop.surveys.stats import PASSIVE_MIN, PROMOTER_MIN, summarize
from cxloop.surveys.stats import compare as compare_nps

__all__ = [
    "MAX_PERIODS",
    "PASSIVE_MIN",
    "PROMOTER_MIN",
    "AnswerTags",
    "DashboardFilters",
    "Invitation",
    "NpsSummary",
    "Response",
    "Survey",
    "answer_by_id",
    "answer_facts",
    "answer_text",
    "answers_with_text",
    "compare_nps",
    "confirmed_between",
    "customer_answers",
    "decisions_for",
    "export_answers",
    "get_answer",
    "invitation_by_id",
    "invitations_sent_since",
    "last_answers",
    "nps_summary",
    "period_start",
    "scores_in_windows",
    "set_answer_tags",
    "set_corrected_themes",
    "summarize",
    "survey_by_id",
    "theme_groups",
    "theme_groups_by_period",
]
