"""Schemathesis against the OpenAPI spec (in-process ASGI): no request the spec allows gives a 5xx.

Bounded: a few examples per operation (:data:`MAX_EXAMPLES`), no deadline, so the run takes well
under a minute on a 2-core machine. Every response must also keep the one error shape.
"""

from __future__ import annotations

import pytest

pytest.importorskip("schemathesis", reason="schemathesis is not installed (test extra)")
pytest.importorskip("fastapi", reason="the web extra is not installed (pip install -e '.[web]')")

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from acuevidence.evidence.store import Registry
from acuevidence.web import create_app
from acuevidence.web.auth import hash_password, new_token

MAX_EXAMPLES = 15
TOKEN, TOKEN_HASH = new_token()


@pytest.fixture(scope="module")
def web_app(tmp_path_factory):
    reg = Registry.build(tmp_path_factory.mktemp("schemathesis") / "evidence.sqlite")
    editors = {"alice": {"password_hash": hash_password("pw-for-schemathesis"),
                         "token_hashes": [TOKEN_HASH]}}
    # Generated requests are many distinct computations from one client: lift the limits.
    return create_app(reg, secret_key="t" * 32, editors=editors,
                      rate_limits={"compute": (1e6, 1e6), "write": (1e6, 1e6),
                                   "login": (1e6, 1e6)})


@pytest.fixture(scope="module")
def api_schema(web_app):
    # The coverage phase enumerates every boundary value of every parameter (hundreds of
    # requests per operation); the bounded fuzzing phase below is enough to keep this < 60 s.
    config = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
    return schemathesis.openapi.from_asgi("/openapi.json", web_app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case):
    response = case.call()
    assert response.status_code < 500, (case.method, case.formatted_path, case.query,
                                        response.text[:500])
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}


@schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors_as_an_editor(case):
    """The same with a valid API token, so the write endpoints run their validation too."""
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code < 500, (case.method, case.formatted_path, case.query,
                                        response.text[:500])
