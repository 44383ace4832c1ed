"""Extensions created unbound here and bound to each app in ``create_app``."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

import flask_login
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_wtf import CSRFProtect

__all__ = ["csrf", "csrf_exempt", "login_manager", "login_required", "socketio"]

socketio = SocketIO()
login_manager = LoginManager()
csrf = CSRFProtect()

_P = ParamSpec("_P")
_R = TypeVar("_R")


def csrf_exempt(view: Callable[_P, _R]) -> Callable[_P, _R]:
    """``csrf.exempt`` with the view's signature kept (Flask-WTF ships no types)."""
    exempted: Callable[_P, _R] = csrf.exempt(view)
    return exempted


def login_required(view: Callable[_P, _R]) -> Callable[_P, _R]:
    """Flask-Login's ``login_required`` with the view's signature kept (it ships no types)."""
    guarded: Callable[_P, _R] = flask_login.login_required(view)
    return guarded
