"""Editors: password hashes, API tokens, signed-cookie sessions and CSRF tokens.

The public site is read-only. Editors sign in with a password (stored as an argon2id hash; bcrypt
hashes are accepted where the ``bcrypt`` package is installed) or, for the JSON API, send an API
token (``Authorization: Bearer <token>``) whose SHA-256 is what the editors file stores — tokens
are 256-bit random strings, so a fast hash is enough and no plaintext is kept at rest.

The **editors file** (JSON or TOML) maps each editor's name to a password hash, or to a table::

    {"alice": "$argon2id$v=19$m=65536,t=3,p=4$...",
     "bob": {"password_hash": "$argon2id$...", "token_hashes": ["sha256:9f86d0..."]}}

``acuevidence serve --hash-password`` prints a hash for a password, ``--new-token`` a token and the
line to store.

**Sessions** live in a cookie signed with the app's secret key (itsdangerous, timestamped, so
they expire after :data:`SESSION_MAX_AGE`); the cookie is ``HttpOnly`` and ``SameSite=Strict``.
Each session carries a random CSRF token; every POST form sends it back in a hidden field and is
refused (403) when it is missing or different.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .security import ApiError

__all__ = [
    "SESSION_COOKIE",
    "Editor",
    "Editors",
    "Session",
    "Sessions",
    "hash_password",
    "hash_token",
    "new_token",
]

SESSION_COOKIE = "acuevidence_session"
SESSION_MAX_AGE = 8 * 3600  # seconds: one working day
TOKEN_PREFIX = "sha256:"


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (argon2-cffi's recommended parameters)."""
    from argon2 import PasswordHasher

    if not password:
        raise InputError("The password must not be empty.", column="password")
    return PasswordHasher().hash(password)


def hash_token(token: str) -> str:
    return TOKEN_PREFIX + hashlib.sha256(token.encode()).hexdigest()


def new_token() -> tuple[str, str]:
    """A new API token and the hash to store in the editors file."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


@dataclass(frozen=True)
class Editor:
    name: str
    password_hash: str | None = None
    token_hashes: tuple[str, ...] = field(default=())


# A hash to verify against when the name is unknown, so the answer takes as long either way.
_DUMMY_HASH: list[str] = []


class Editors:
    """The editors allowed to write, loaded from a file or a mapping."""

    def __init__(self, editors: Mapping[str, Editor] | None = None):
        self.by_name: dict[str, Editor] = dict(editors or {})

    @classmethod
    def load(cls, source: str | Path | Mapping[str, Any] | None) -> Editors:
        """From an editors file (``.json`` or ``.toml``), a mapping, or None (no editors)."""
        if source is None:
            return cls()
        if isinstance(source, Editors):
            return source
        if isinstance(source, Mapping):
            raw: Any = source
            where = "editors"
        else:
            p = Path(source)
            if not p.exists():
                raise InputError(f"Editors file not found: {p}", column="--editors")
            text = p.read_text(encoding="utf-8")
            try:
                raw = tomllib.loads(text) if p.suffix.lower() == ".toml" else json.loads(text)
            except (tomllib.TOMLDecodeError, json.JSONDecodeError) as e:
                raise InputError(f"{p}: not valid {p.suffix.lstrip('.').upper() or 'JSON'}: "
                                 f"{e}", column="--editors") from None
            where = str(p)
        if isinstance(raw, Mapping) and isinstance(raw.get("editors"), Mapping):
            raw = raw["editors"]
        if not isinstance(raw, Mapping):
            raise InputError(f"{where}: expected a table of editor name -> password hash.",
                             column="--editors")
        out = {}
        for name, value in raw.items():
            if isinstance(value, str):
                out[name] = Editor(name, _check_hash(value, where, name), ())
            elif isinstance(value, Mapping):
                tokens = tuple(value.get("token_hashes", ()) or ())
                bad = [t for t in tokens if not (isinstance(t, str) and t.startswith(TOKEN_PREFIX)
                                                 and len(t) == len(TOKEN_PREFIX) + 64)]
                if bad:
                    raise InputError(f"{where}: editor {name!r}: token hashes must look like "
                                     "'sha256:<64 hex digits>' (acuevidence serve --new-token).",
                                     column="--editors")
                pw = value.get("password_hash")
                out[name] = Editor(name, _check_hash(pw, where, name) if pw else None, tokens)
            else:
                raise InputError(f"{where}: editor {name!r} needs a password hash or a table.",
                                 column="--editors")
        return cls(out)

    def __len__(self) -> int:
        return len(self.by_name)

    def verify_password(self, name: str, password: str) -> Editor | None:
        """The editor if the password matches its hash, else None."""
        ed = self.by_name.get(name)
        if ed is None or not ed.password_hash:
            _verify(_dummy_hash(), password)  # same work for unknown names
            return None
        return ed if _verify(ed.password_hash, password) else None

    def verify_token(self, token: str) -> Editor | None:
        """The editor owning ``token`` (constant-time comparison of the hashes)."""
        if not token:
            return None
        h = hash_token(token)
        found = None
        for ed in self.by_name.values():
            for th in ed.token_hashes:
                if hmac.compare_digest(th, h):
                    found = ed
        return found


def _check_hash(value: Any, where: str, name: str) -> str:
    if not isinstance(value, str) or not value.startswith(("$argon2", "$2a$", "$2b$", "$2y$")):
        raise InputError(f"{where}: editor {name!r}: the password must be stored as an argon2 "
                         "(or bcrypt) hash, never in plain text; make one with "
                         "'acuevidence serve --hash-password'.", column="--editors")
    return value


def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_hex(16)))
    return _DUMMY_HASH[0]


def _verify(stored: str, password: str) -> bool:
    if stored.startswith("$argon2"):
        from argon2 import PasswordHasher
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return PasswordHasher().verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    try:
        import bcrypt
    except ImportError:
        return False
    try:
        return bool(bcrypt.checkpw(password.encode(), stored.encode()))
    except ValueError:
        return False


# ------------------------------------------------------------------------------------------------
# Sessions and CSRF
# ------------------------------------------------------------------------------------------------
@dataclass
class Session:
    """A visitor's session: the CSRF token and, after sign-in, the editor's name."""

    csrf: str
    editor: str | None = None
    changed: bool = False


class Sessions:
    """Signed-cookie sessions (itsdangerous) with a CSRF token each."""

    def __init__(self, secret_key: str, *, secure: bool = False,
                 max_age: int = SESSION_MAX_AGE):
        from itsdangerous import URLSafeTimedSerializer

        self.serializer = URLSafeTimedSerializer(secret_key, salt="acuevidence-session")
        self.secure = secure
        self.max_age = max_age

    def load(self, request: Any) -> Session:
        """The request's session, or a new one (marked changed, so it gets saved)."""
        from itsdangerous import BadSignature

        cached = getattr(request.state, "session", None)
        if cached is not None:
            return cached
        raw = request.cookies.get(SESSION_COOKIE)
        session = None
        if raw:
            try:
                data = self.serializer.loads(raw, max_age=self.max_age)
                if isinstance(data, dict) and isinstance(data.get("csrf"), str):
                    ed = data.get("editor")
                    session = Session(data["csrf"], ed if isinstance(ed, str) else None)
            except BadSignature:  # tampered or expired: start afresh
                session = None
        if session is None:
            session = Session(secrets.token_urlsafe(32), None, changed=True)
        request.state.session = session
        return session

    def save(self, response: Any, session: Session) -> None:
        if not session.changed:
            return
        value = self.serializer.dumps({"csrf": session.csrf, "editor": session.editor})
        response.set_cookie(SESSION_COOKIE, value, max_age=self.max_age, httponly=True,
                            samesite="strict", secure=self.secure, path="/")

    @staticmethod
    def check_csrf(session: Session, token: str | None) -> None:
        """Refuse (403) a form whose CSRF token is missing or not the session's."""
        if not token or not hmac.compare_digest(str(token), session.csrf):
            raise ApiError(403, "csrf_failed", "The form's security token is missing or has "
                           "expired. Reload the page and submit the form again.", "csrf_token")

    @staticmethod
    def sign_in(session: Session, editor: str) -> None:
        # A new CSRF token at sign-in: a token seen before signing in is no longer valid.
        session.editor = editor
        session.csrf = secrets.token_urlsafe(32)
        session.changed = True

    @staticmethod
    def sign_out(session: Session) -> None:
        session.editor = None
        session.csrf = secrets.token_urlsafe(32)
        session.changed = True
