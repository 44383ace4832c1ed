"""Dispatcher sign-in: Flask-Login sessions, Flask-WTF forms with CSRF, hashed passwords."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from fleet.extensions import login_manager, login_required
from fleet.runtime import get_runtime
from fleet.store.users import authenticate, get_user

__all__ = ["bp", "SessionUser"]

bp = Blueprint("auth", __name__)


class SessionUser(UserMixin):  # type: ignore[misc]
    """The signed-in dispatcher as the session knows them (no ORM object kept around)."""

    def __init__(self, user_id: int, username: str, role: str) -> None:
        self.id = user_id
        self.username = username
        self.role = role


class LoginForm(FlaskForm):  # type: ignore[misc]
    username = StringField(validators=[DataRequired(), Length(max=64)])
    password = PasswordField(validators=[DataRequired(), Length(max=256)])
    next = HiddenField()


def load_user(user_id: str) -> SessionUser | None:
    if not user_id.isdigit():
        return None
    with get_runtime().db.read() as session:
        user = get_user(session, int(user_id))
        return None if user is None else SessionUser(user.id, user.username, user.role)


def unauthorized() -> Any:
    if request.path.startswith("/api/"):
        response = Response('{"error": "login required"}', 401, mimetype="application/json")
        return response
    return redirect(url_for("auth.login", next=request.path))


# Registered by call, not as decorators: Flask-Login ships no types.
login_manager.user_loader(load_user)
login_manager.unauthorized_handler(unauthorized)


def _safe_next(target: str | None) -> str:
    """Only same-site paths, so the login page cannot bounce users elsewhere."""
    if not target:
        return url_for("dispatch.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("dispatch.dashboard")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    error = None
    if form.validate_on_submit():
        with get_runtime().db.read() as session:
            user = authenticate(session, form.username.data, form.password.data)
            found = None if user is None else SessionUser(user.id, user.username, user.role)
        if found is not None:
            login_user(found)
            return redirect(_safe_next(form.next.data))
        error = "Nama pengguna atau kata sandi salah / wrong username or password"
    status = 401 if error else 200
    return render_template("login.html", form=form, error=error), status


@bp.route("/logout", methods=["GET", "POST"])
@login_required
def logout() -> Any:
    logout_user()
    return redirect(url_for("auth.login"))


def current_username() -> str:
    return str(getattr(current_user, "username", ""))
