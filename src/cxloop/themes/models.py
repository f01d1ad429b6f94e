"""A workspace's theme taxonomy, the corrections people made, and the model they train."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cxloop.store.base import Base, BigId, JsonDoc, UTCDateTime, utcnow


class ThemeTaxonomy(Base):
    """A workspace's own theme taxonomy (the default one until the merchant saves one)."""

    __tablename__ = "theme_taxonomies"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # cxloop.themes.Taxonomy as a JSON document.
    document: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ThemeCorrection(Base):
    """A person's say on a verbatim's themes: the examples the workspace's model learns from."""

    __tablename__ = "theme_corrections"
    __table_args__ = (Index("ix_theme_corrections_workspace", "workspace_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workspace_id: Mapped[str] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    response_id: Mapped[int | None] = mapped_column(
        ForeignKey("responses.id", ondelete="SET NULL"), nullable=True
    )
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8), default="")
    themes: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    actor: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ThemeModel(Base):
    """The linear model trained on a workspace's corrections, as plain JSON (no pickle)."""

    __tablename__ = "theme_models"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    examples: Mapped[int] = mapped_column(Integer, default=0)
    trained_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
