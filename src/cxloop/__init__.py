"""cxloop: a self-hosted customer-experience engine for online stores."""

__version__ = "0.1.0"
