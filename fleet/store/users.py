"""Dispatcher accounts; passwords are kept only as Werkzeug hashes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from fleet.models import User

__all__ = ["ROLES", "add_user", "authenticate", "get_user"]

ROLES = ("dispatcher", "admin")


def add_user(session: Session, username: str, password: str, role: str) -> User:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not username or len(password) < 8:
        raise ValueError("a username and a password of at least 8 characters are needed")
    user = User(username=username, password_hash=generate_password_hash(password), role=role)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not check_password_hash(user.password_hash, password):
        return None
    return user


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)
