"""The web page of the claim checker: paste or upload, CSRF, escaping."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from acuevidence.evidence.store import Registry  # noqa: E402
from acuevidence.web.app import create_app  # noqa: E402

SEED = Path(__file__).resolve().parent / "fixtures" / "seeds" / "004_b912b114f5d00943.txt"
PAGE = ("Acupuncture is highly effective for chronic low back pain compared with sham "
        "acupuncture. <script>alert(1)</script> 21 high-quality randomized controlled trials "
        "with 7,350 participants prove it.")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("web") / "e.sqlite"
    Registry.build(db).close()
    with TestClient(create_app(str(db), secret_key="test-key")) as c:
        yield c


def _csrf(client) -> str:
    page = client.get("/check")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_paste_is_checked_and_escaped(client):
    r = client.post("/check", data={"csrf_token": _csrf(client), "text": PAGE, "kind": "text"})
    assert r.status_code == 200
    assert "Overstated" in r.text or "Unverifiable number" in r.text
    assert "<script>alert(1)</script>" not in r.text


def test_upload_of_a_seed_page(client):
    text = SEED.read_text()
    r = client.post("/check", data={"csrf_token": _csrf(client)},
                    files={"page": ("page.txt", text.encode(), "text/plain")})
    assert r.status_code == 200 and "Topic of the page" in r.text


def test_without_csrf_token_is_refused(client):
    _csrf(client)
    r = client.post("/check", data={"text": PAGE})
    assert r.status_code == 403


def test_binary_upload_is_a_clear_error(client):
    r = client.post("/check", data={"csrf_token": _csrf(client)},
                    files={"page": ("x.txt", b"\x00\x01\x02" * 100, "text/plain")})
    assert r.status_code == 400 and "role=\"alert\"" in r.text


def test_networks_page_and_api(client):
    page = client.get("/networks")
    assert page.status_code == 200
    assert "Chronic non-specific low back pain" in page.text and "Knee osteoarthritis" in page.text
    assert "<svg" in page.text and "Inconsistency:" in page.text
    api = client.get("/api/networks").json()
    assert api["evidence_version"].startswith("ev-") and len(api["networks"]) == 2
    assert all(n["graph_svg"].startswith("<svg") for n in api["networks"])
