"""Workspaces, keys, users and roles, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from cxloop.errors import InvalidInput
from cxloop.store.base import utcnow
from cxloop.store.db import Database
from cxloop.workspaces import service
from cxloop.workspaces.models import ApiKey, AuditEntry, Membership, User
from cxloop.workspaces.schemas import WorkspaceCreate


def test_a_new_workspace_has_a_public_write_key_and_a_hashed_admin_key(any_db: Database) -> None:
    # when a workspace is created
    with any_db.session() as session:
        creds = service.create_workspace(session, WorkspaceCreate(name="Chez Lou"))
    # then the write key is kept as is and the admin key only as its digest
    with any_db.session() as session:
        keys = {k.kind: k for k in session.scalars(select(ApiKey))}
        assert keys["write"].public_value == creds.write_key
        assert keys["admin"].public_value is None
        assert keys["admin"].key_hash == hashlib.sha256(creds.admin_key.encode()).hexdigest()
        stored = [getattr(keys["admin"], c) for c in ("prefix", "key_hash", "label")]
        assert creds.admin_key not in stored
        assert session.scalars(select(AuditEntry.action)).all() == ["workspace.create"]


def test_keys_resolve_to_their_workspace_and_kind(any_db: Database) -> None:
    with any_db.session() as session:
        a = service.create_workspace(session, WorkspaceCreate(name="A"))
        b = service.create_workspace(session, WorkspaceCreate(name="B"))
    with any_db.session() as session:
        assert service.resolve_key(session, a.admin_key) == service.KeyOwner(
            a.workspace_id, "admin"
        )
        assert service.resolve_key(session, b.write_key) == service.KeyOwner(
            b.workspace_id, "write"
        )
        # a key with a right prefix and a wrong secret, garbage, and a revoked key are refused
        forged = a.admin_key.rsplit("_", 1)[0] + "_forged"
        assert service.resolve_key(session, forged) is None
        assert service.resolve_key(session, "nonsense") is None
        key = session.scalars(
            select(ApiKey).where(ApiKey.workspace_id == b.workspace_id, ApiKey.kind == "admin")
        ).one()
        key.revoked_at = utcnow()
    with any_db.session() as session:
        assert service.resolve_key(session, b.admin_key) is None


def test_unknown_time_zone_is_refused_with_its_field(any_db: Database) -> None:
    with pytest.raises(InvalidInput) as err, any_db.session() as session:
        service.create_workspace(session, WorkspaceCreate(name="X", timezone="Mars/Olympus"))
    assert err.value.field == "timezone"


def test_passwords_are_argon2_hashed_and_checked(any_db: Database) -> None:
    with any_db.session() as session:
        service.create_user(session, email="Lea@Example.com", password="s3cret-enough")
    with any_db.session() as session:
        user = session.scalars(select(User)).one()
        assert user.email == "lea@example.com"
        assert user.password_hash.startswith("$argon2id$")
        assert "s3cret-enough" not in user.password_hash
        assert service.authenticate(session, "lea@example.com", "wrong-password") is None
        assert service.authenticate(session, "nobody@example.com", "s3cret-enough") is None
        assert service.authenticate(session, " LEA@example.com", "s3cret-enough") == user
        assert user.last_login_at is not None


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [("not-an-email", "long enough pw", "email"), ("a@example.com", "short", "password")],
)
def test_bad_user_input_names_the_field(
    any_db: Database, email: str, password: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as err, any_db.session() as session:
        service.create_user(session, email=email, password=password)
    assert err.value.field == field


def test_duplicate_email_is_refused(any_db: Database) -> None:
    with any_db.session() as session:
        service.create_user(session, email="a@example.com", password="long enough pw")
    with pytest.raises(InvalidInput, match="already exists"), any_db.session() as session:
        service.create_user(session, email="A@example.com", password="long enough pw")


def test_roles_are_per_workspace_and_can_change(any_db: Database) -> None:
    with any_db.session() as session:
        a = service.create_workspace(session, WorkspaceCreate(name="A")).workspace_id
        b = service.create_workspace(session, WorkspaceCreate(name="B")).workspace_id
        user = service.create_user(session, email="a@example.com", password="long enough pw")
        service.add_member(session, workspace_id=a, user=user, role="owner")
        service.add_member(session, workspace_id=b, user=user, role="agent")
        service.add_member(session, workspace_id=b, user=user, role="analyst")
        with pytest.raises(InvalidInput):
            service.add_member(session, workspace_id=a, user=user, role="admin")
    with any_db.session() as session:
        assert service.role_in(session, user.id, a) == "owner"
        assert service.role_in(session, user.id, b) == "analyst"
        assert [w.name for w, _ in service.workspaces_of(session, user.id)] == ["A", "B"]
        assert len(session.scalars(select(Membership)).all()) == 2
