"""Channels to customers and teams: email (SMTP or the local outbox), webhooks."""
