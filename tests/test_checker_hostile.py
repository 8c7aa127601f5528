"""The claim checker on hostile input: huge, binary, malformed, scripted, mis-encoded pages.

Choices tested here (documented in :mod:`acuevidence.checker._text`): input above 5 MiB, text
above 1,000,000 characters and more than 30,000 sentences are *refused* with an InputError (not
truncated: a half-checked page would look checked); binary data is refused; non-UTF-8 bytes are
decoded (declared charset, else Windows-1252) with a warning; HTML is parsed, never executed, and
nothing from the page reaches the HTML report unescaped.
"""

from __future__ import annotations

import html
import json
import os
import time

import pytest

from acuevidence.checker import bundled_evidence, check_text
from acuevidence.checker._text import MAX_INPUT_BYTES, MAX_SENTENCES, MAX_TEXT_CHARS
from acuevidence.errors import InputError

# Bound for the near-limit inputs below; measured at 2-8 s on a 2-core machine shared by several
# test runs, so 60 s only fails on a hang or a quadratic blow-up.
BOUND_SECONDS = 60.0

CLAIM = "Acupuncture is highly effective for chronic low back pain compared with sham."
PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "<svg onload=alert(1)>",
    '"><iframe src="javascript:alert(2)"></iframe>',
)


@pytest.fixture(scope="module", autouse=True)
def _evidence() -> None:
    bundled_evidence()


def _timed(fn, *args, **kw):
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t0


# ---------------------------------------------------------------------------------------------
# Size
# ---------------------------------------------------------------------------------------------
def test_huge_bytes_refused_quickly() -> None:
    data = b"a" * (MAX_INPUT_BYTES + 1)
    t0 = time.perf_counter()
    with pytest.raises(InputError, match="5 MiB"):
        check_text(data, content_type="text/plain")
    assert time.perf_counter() - t0 < 5


def test_huge_str_refused() -> None:
    with pytest.raises(InputError, match="at most"):
        check_text("x " * (MAX_INPUT_BYTES // 2 + 1), content_type="text/plain")


def test_text_limit_refused() -> None:
    with pytest.raises(InputError, match="characters"):
        check_text("word " * (MAX_TEXT_CHARS // 5 + 10), content_type="text/plain")


def test_too_many_sentences_refused() -> None:
    with pytest.raises(InputError, match="sentences"):
        check_text(". " * (MAX_SENTENCES + 10), content_type="text/plain")


@pytest.mark.parametrize("text", [
    pytest.param("1 " * 300_000, id="digits"),
    pytest.param("Dr. " * 150_000, id="abbreviations"),
    pytest.param("acupuncture reduces back pain compared with sham than than " * 10_000,
                 id="one-long-sentence"),
    pytest.param("back pain knee osteoarthritis " * 20_000, id="condition-words"),
    pytest.param("\n" * 600_000, id="newlines"),
    pytest.param("a" * 900_000, id="one-word"),
    pytest.param(("Acupuncture for back pain: a systematic review\nMedicine\n") * 8_000,
                 id="repeated-titles"),
    pytest.param((CLAIM + " ") * 8_000, id="repeated-claims"),
])
def test_pathological_text_is_bounded(text: str) -> None:
    report, seconds = _timed(check_text, text, content_type="text/plain")
    assert seconds < BOUND_SECONDS
    page, seconds_html = _timed(report.to_html)
    assert seconds_html < BOUND_SECONDS
    assert page.startswith("<!DOCTYPE html>")


def test_repeated_claims_are_all_reported() -> None:
    report = check_text((CLAIM + " ") * 200, content_type="text/plain")
    eff = [c for c in report.claims if c.type == "efficacy"]
    assert len(eff) == 200
    assert {report.verdict_of(c.id).verdict for c in eff} == {"contradicted"}


def test_deeply_nested_html_keeps_its_text() -> None:
    markup = "<div>" * 50_000 + CLAIM + "</div>" * 50_000 + "<p>After the nest.</p>"
    report, seconds = _timed(check_text, markup)
    assert seconds < BOUND_SECONDS
    assert CLAIM in report.text and "After the nest." in report.text
    assert any("nests deeper than the parser reads" in w for w in report.warnings)


# ---------------------------------------------------------------------------------------------
# Binary
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data,what", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG"),
    (b"PK\x03\x04\x14\x00\x06\x00", "ZIP"),
    (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "gzip"),
    (b"hello\x00world\x00" * 100, "NUL"),
])
def test_binary_refused(data: bytes, what: str) -> None:
    with pytest.raises(InputError, match=what if what in ("PDF", "PNG", "ZIP", "NUL") else
                       "gzip"):
        check_text(data)


def test_random_bytes_refused() -> None:
    rng = __import__("random").Random(20260101)
    data = bytes(rng.randrange(256) for _ in range(20_000))
    with pytest.raises(InputError, match="binary"):
        check_text(data, content_type="text/plain")


def test_control_characters_in_str_refused() -> None:
    with pytest.raises(InputError, match="binary"):
        check_text("".join(chr(i % 32) for i in range(5_000)), content_type="text/plain")


# ---------------------------------------------------------------------------------------------
# Malformed HTML and odd input
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("markup", [
    "<p>" + CLAIM,  # unclosed
    "<div><p>" + CLAIM + "</div></span></p></td>",  # mismatched closers
    "<<<>>><p " + CLAIM,  # broken tag
    '<p title="unterminated>' + CLAIM + "</p>",
    "<!-- only a comment -->",
    "<?xml version='1.0' encoding='utf-8'?><html><body><p>" + CLAIM + "</p></body></html>",
    "<table><tr><td>" + CLAIM + "<td><tr></table>",
    "</p></div></body></html>",
    "<html><body>&#0;&#xD800;&#99999999;" + CLAIM + "</body></html>",
    "",
    "   \n\n  ",
])
def test_malformed_html_does_not_crash(markup: str) -> None:
    report = check_text(markup, content_type="text/html")
    assert report.to_html().startswith("<!DOCTYPE html>")
    json.dumps(report.to_dict(), allow_nan=False)
    # Where the claim is text (not swallowed into a broken tag's attributes, as a browser would
    # read it), it is found.
    if "Acupuncture is highly" in markup and "unterminated" not in markup \
            and not markup.startswith("<<<"):
        assert any(c.type == "efficacy" for c in report.claims)


def test_plain_text_sent_as_html_keeps_its_lines() -> None:
    report = check_text("Acupuncture for Back Pain\n\n" + CLAIM, content_type="text/html")
    assert report.text.split("\n")[0] == "Acupuncture for Back Pain"
    assert any("plain text" in w for w in report.warnings)
    assert sum(c.type == "efficacy" for c in report.claims) == 1


def test_empty_page_has_no_claims() -> None:
    report = check_text("", content_type="text/plain")
    assert report.claims == () and report.counts["supported"] == 0


def test_bad_content_type_and_type() -> None:
    with pytest.raises(InputError, match="content type"):
        check_text("x", content_type="application/pdf")
    with pytest.raises(InputError, match="text or bytes"):
        check_text(12345)  # type: ignore[arg-type]


def test_navigation_and_hidden_text_are_not_claims() -> None:
    markup = ("<html><body><nav>Acupuncture cures back pain</nav>"
              "<div style='display:none'>Acupuncture is 100% effective for sciatica</div>"
              "<div aria-hidden='true'>Acupuncture is highly effective for knee pain</div>"
              "<p>Welcome.</p><footer>Acupuncture is extremely useful for back pain</footer>"
              "</body></html>")
    report = check_text(markup)
    assert report.claims == ()
    assert "cures" not in report.text and "100%" not in report.text


# ---------------------------------------------------------------------------------------------
# Scripts and injection: never executed (nothing runs them), never echoed unescaped
# ---------------------------------------------------------------------------------------------
def test_script_content_is_dropped() -> None:
    markup = (f"<html><head><script>document.write('{CLAIM}')</script><style>p{{}}</style>"
              f"</head><body><p>{CLAIM}</p><script>alert(1)</script>"
              f"<img src=x onerror=alert(1)><a href=\"javascript:alert(1)\">link text</a>"
              "</body></html>")
    report = check_text(markup)
    assert "alert" not in report.text and "document.write" not in report.text
    assert "link text" in report.text
    assert sum(c.type == "efficacy" for c in report.claims) == 1


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_in_text_are_escaped_in_html_report(payload: str) -> None:
    # As plain text, the payload is part of a claim and of the page's text.
    text = f"{CLAIM} {payload} Acupuncture may reduce sciatica pain. {payload}"
    report = check_text(text, content_type="text/plain", source=payload)
    page = report.to_html()
    for frag in ("<script", "<img", "<svg", "<iframe", "onerror=", "onload=", "javascript:"):
        if frag.startswith("<"):
            assert frag not in page.lower()
    assert html.escape(payload) in page
    # Attribute injection: quotes from the page never close an attribute of the report.
    assert 'title="' + payload not in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_are_not_live_html_in_markdown_report(payload: str) -> None:
    text = f"{CLAIM} {payload} Acupuncture may reduce sciatica pain. {payload}"
    md = check_text(text, content_type="text/plain", source=payload).summary("markdown").lower()
    for frag in ("<script", "<img", "<svg", "<iframe", "<a href"):
        assert frag not in md
    # the page's characters are still there, as entities and escapes a renderer shows as-is
    assert "&lt;" in md or "<" not in payload


@pytest.mark.parametrize("payload", PAYLOADS)
def test_escaped_payloads_in_html_stay_escaped(payload: str) -> None:
    # In HTML the payload arrives entity-encoded, i.e. as text; it must leave as text too.
    markup = f"<p>{CLAIM} {html.escape(payload)}</p>"
    report = check_text(markup)
    assert payload in report.text  # it is the page's text
    page = report.to_html()
    assert payload not in page and html.escape(payload) in page


def test_live_payload_markup_is_never_echoed() -> None:
    markup = "<p>" + CLAIM + "</p>" + "".join(PAYLOADS)
    page = check_text(markup).to_html().lower()
    for frag in ("<script", "<img", "<svg", "<iframe", "javascript:", "onerror", "onload"):
        assert frag not in page


def test_json_report_is_valid_and_text_only() -> None:
    report = check_text(f"{CLAIM} <script>alert(1)</script>", content_type="text/plain")
    d = json.loads(report.to_json())
    assert d["claims"][0]["text"].startswith("Acupuncture")


# ---------------------------------------------------------------------------------------------
# Encodings
# ---------------------------------------------------------------------------------------------
def test_windows_1252_bytes() -> None:
    data = ("<p>Caf\u00e9 owners say: \u201c" + CLAIM + "\u201d</p>").encode("cp1252")
    report = check_text(data)
    assert "\u201c" in report.text and "Café" in report.text
    assert any("Windows-1252" in w for w in report.warnings)
    assert any(c.type == "efficacy" for c in report.claims)


def test_declared_latin1_read_as_windows_1252() -> None:
    data = (b'<html><head><meta charset="iso-8859-1"></head><body><p>\x93' + CLAIM.encode()
            + b"\x94</p></body></html>")
    report = check_text(data)
    assert "\u201c" in report.text
    assert any("declared charset" in w for w in report.warnings)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig", "utf-32"])
def test_unicode_encodings(encoding: str) -> None:
    report = check_text(f"<p>{CLAIM}</p>".encode(encoding))
    assert CLAIM in report.text


def test_declared_shift_jis() -> None:
    data = ('<html><head><meta charset="shift_jis"></head><body><p>鍼治療 ' + CLAIM
            + "</p></body></html>").encode("shift_jis")
    report = check_text(data)
    assert "鍼治療" in report.text


def test_unknown_declared_charset_falls_back() -> None:
    data = b'<meta charset="no-such-charset"><p>' + CLAIM.encode() + b" \xff\xfe</p>"
    report = check_text(data)
    assert CLAIM in report.text and report.warnings


def test_invalid_utf8_in_text_mode() -> None:
    report = check_text(CLAIM.encode() + b" \xc3\x28 broken", content_type="text/plain")
    assert CLAIM in report.text and report.warnings


# ---------------------------------------------------------------------------------------------
# Determinism and files
# ---------------------------------------------------------------------------------------------
def test_same_page_same_report() -> None:
    text = f"<p>{CLAIM}</p><p>Acupuncture may be effective for sciatica.</p>"
    assert check_text(text).to_dict() == check_text(text).to_dict()


def test_check_file_refuses_large_and_urls(tmp_path) -> None:
    from acuevidence.checker import check_file

    big = tmp_path / "big.html"
    with open(big, "wb") as fh:
        fh.seek(MAX_INPUT_BYTES + 10)
        fh.write(b"x")
    with pytest.raises(InputError, match="5 MiB"):
        check_file(big)
    with pytest.raises(InputError, match="never fetches"):
        check_file("http://127.0.0.1/page.html")
    binary = tmp_path / "x.html"
    binary.write_bytes(os.urandom(1) * 0 + b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(InputError, match="PNG"):
        check_file(binary)
