"""The web app: patient decision aid, evidence explorer, editor area and JSON API.

Needs the ``web`` extra (fastapi, uvicorn, python-multipart, itsdangerous, argon2-cffi)::

    from acuevidence.web import create_app
    app = create_app("evidence.sqlite", editors="editors.toml")

``acuevidence serve`` runs it with uvicorn.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See :func:`acuevidence.web.app.create_app`."""
    try:
        from .app import create_app as _create
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"The web app needs the 'web' extra ({e.name} is missing): "
                          "pip install 'acuevidence[web]'.") from e
    return _create(*args, **kwargs)
