"""Data in: events (Segment-compatible), store webhooks and imports."""
