"""The NPS program: surveys, invitations, the survey page and widget, statistics, dashboard."""
