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
from cxloop.surveys.dashboard import breakdown as nps_breakdown
from cxloop.surveys.models import Invitation, Response, Survey
from cxloop.surveys.schemas import CHANNELS, AnswerTags, DashboardFilters, NpsSummary
from cxloop.surveys.service import (
    OnConfirmed,
    QuestionTexts,
    SurveyClosed,
    TagVerbatim,
    answer_by_id,
    answer_facts,
    answer_text,
    answers_with_text,
    category_of,
    chat_invitation,
    confirmed_between,
    customer_answers,
    decisions_for,
    export_answers,
    get_answer,
    invitation_by_id,
    invitations_sent_since,
    last_answers,
    question_texts,
    record_answer,
    scores_in_windows,
    set_answer_tags,
    set_corrected_themes,
    survey_by_id,
)
from cxloop.surveys.stats import PASSIVE_MIN, PROMOTER_MIN, summarize
from cxloop.surveys.stats import compare as compare_nps

__all__ = [
    "CHANNELS",
    "MAX_PERIODS",
    "PASSIVE_MIN",
    "PROMOTER_MIN",
    "AnswerTags",
    "DashboardFilters",
    "Invitation",
    "NpsSummary",
    "OnConfirmed",
    "QuestionTexts",
    "Response",
    "Survey",
    "SurveyClosed",
    "TagVerbatim",
    "answer_by_id",
    "answer_facts",
    "answer_text",
    "answers_with_text",
    "category_of",
    "chat_invitation",
    "compare_nps",
    "confirmed_between",
    "customer_answers",
    "decisions_for",
    "export_answers",
    "get_answer",
    "invitation_by_id",
    "invitations_sent_since",
    "last_answers",
    "nps_breakdown",
    "nps_summary",
    "period_start",
    "question_texts",
    "record_answer",
    "scores_in_windows",
    "set_answer_tags",
    "set_corrected_themes",
    "summarize",
    "survey_by_id",
    "theme_groups",
    "theme_groups_by_period",
]
