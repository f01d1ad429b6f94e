"""The FastAPI application: APIs, console pages, static assets."""
