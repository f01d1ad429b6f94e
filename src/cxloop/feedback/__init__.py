"""The NPS program: surveys, invitations, responses, statistics, alerts."""
