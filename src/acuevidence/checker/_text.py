"""Page bytes -> clean text: decoding, hostile-input guards, HTML parsing, sentences with offsets.

Everything downstream indexes the *clean text* this module returns; the original markup is never
echoed. Limits (documented in the CLI help and the README section of the checker):

* input above :data:`MAX_INPUT_BYTES` (5 MiB) is refused with an :class:`InputError`; so is clean
  text above :data:`MAX_TEXT_CHARS` (1,000,000 characters) — refusing is explicit, truncating
  would silently check half a page;
* binary data (PDF, images, archives, NUL bytes, many control characters) is refused;
* bytes that are not UTF-8 are decoded with the charset the page declares, else Windows-1252,
  with a warning (never an error: a mis-decoded character cannot hide a claim's words).

HTML is parsed with lxml (libxml2's error-tolerant HTML parser, which also bounds nesting depth);
script, style, navigation, forms, embedded objects and hidden elements are dropped, block elements
become line breaks, and the title (``<title>`` or the first ``<h1>``) is kept for the page topic.
"""

from __future__ import annotations

import codecs
import itertools
import re
import unicodedata
from dataclasses import dataclass

from ..errors import InputError

__all__ = ["MAX_INPUT_BYTES", "MAX_TEXT_CHARS", "Page", "Sentence", "load_page", "sentences"]

MAX_INPUT_BYTES = 5 * 1024 * 1024
MAX_TEXT_CHARS = 1_000_000
# A "sentence" longer than this is cut at a space: every per-sentence rule then works on a bounded
# string (run-on sentences of real pages reach ~2,500 characters; hostile ones have no end).
MAX_SENTENCE_CHARS = 4000
# More sentences than a long article could hold (the text limit allows ~10,000 real ones): the
# input is not prose, and checking it sentence by sentence would only burn time.
MAX_SENTENCES = 30_000

_MAGIC = (
    (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (or a Word/Excel file)"),
    (b"\x89PNG", "a PNG image"), (b"GIF8", "a GIF image"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x1f\x8b", "gzip-compressed data"), (b"\x7fELF", "an executable"),
    (b"MZ", "an executable"), (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"RIFF", "a media file"), (b"OggS", "a media file"), (b"ID3", "an MP3 file"),
)
_DROP_TAGS = frozenset({
    "script", "style", "noscript", "template", "nav", "footer", "form", "button", "select",
    "option", "textarea", "input", "iframe", "frame", "frameset", "object", "embed", "svg",
    "math", "canvas", "audio", "video", "source", "track", "map", "area", "link", "meta", "head",
    "base", "applet", "dialog",
})
_BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "main", "aside", "header", "blockquote", "li", "ul", "ol",
    "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "td", "th", "caption",
    "figure", "figcaption", "pre", "address", "body", "html", "hr", "details", "summary",
})
_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\t\f\v]")
_ZERO_WIDTH = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""",
                      re.IGNORECASE)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]{0,200}\?>", re.IGNORECASE)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)


@dataclass(frozen=True)
class Page:
    """The clean text of a page, its title and what the decoder had to do."""

    text: str
    title: str
    content_type: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sentence:
    """One sentence of the clean text: ``text == page.text[start:end]``."""

    start: int
    end: int
    text: str
    line: int
    paragraph: int
    index: int


def load_page(data: bytes | str, content_type: str = "text/html") -> Page:
    """Decode and clean a page (see the module docstring for the limits and what is dropped)."""
    kind = _content_kind(content_type)
    warnings: list[str] = []
    if isinstance(data, bytes | bytearray | memoryview) and len(data) <= MAX_INPUT_BYTES:
        raw = bytes(data)
        if len(raw) > MAX_INPUT_BYTES:
            raise InputError(f"The page is {len(raw):,} bytes; the checker reads at most "
                             f"{MAX_INPUT_BYTES:,} bytes (5 MiB). Save only the article's text "
                             "or its HTML without embedded images.", column="page")
        text = _decode(raw, warnings)
    elif isinstance(data, bytes | bytearray | memoryview):
        raise InputError(f"The page is {len(data):,} bytes; the checker reads at most "
                         f"{MAX_INPUT_BYTES:,} bytes (5 MiB). Save only the article's text "
                         "or its HTML without embedded images.", column="page")
    elif isinstance(data, str):
        if len(data) > MAX_INPUT_BYTES:
            raise InputError(f"The page is {len(data):,} characters; the checker reads at most "
                             f"{MAX_INPUT_BYTES:,}. Paste only the article's text.", column="page")
        text = data
    else:
        raise InputError(f"The page must be text or bytes; got {type(data).__name__}.",
                         column="page")
    _refuse_binary_text(text)
    title = ""
    if kind == "html" and not re.search(r"<[A-Za-z!/?]", text[:200_000]):
        # Pasted text sent as HTML would lose its line breaks to HTML's whitespace rules.
        kind = "text"
        warnings.append("No HTML tags found: the page was read as plain text.")
    if kind == "html":
        parsed, title = _html_to_text(text)
        rough = _strip_tags(text) if _max_depth(text) > _PARSER_DEPTH else ""
        if rough and len(parsed) < 0.5 * len(rough.strip()):
            # libxml2 gives up on nesting deeper than its limit and drops the rest of the page;
            # the tag-stripped text then says more than the parse.
            warnings.append("The HTML nests deeper than the parser reads: its text was read by "
                            "removing the tags instead (navigation and hidden elements may be "
                            "included).")
            parsed = rough
        text = parsed
    text = _normalise(text)
    if kind == "text":
        title = _first_line(text)
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"The page's text is {len(text):,} characters; the checker reads at most "
                         f"{MAX_TEXT_CHARS:,}. Check the article on its own.", column="page")
    return Page(text=text, title=title.strip(), content_type=f"text/{'html' if kind == 'html' else 'plain'}",
                warnings=tuple(warnings))


def _content_kind(content_type: str) -> str:
    ct = str(content_type or "").split(";")[0].strip().lower()
    if ct in ("text/html", "application/xhtml+xml", "html"):
        return "html"
    if ct in ("text/plain", "text", "plain"):
        return "text"
    raise InputError(f"Unknown content type {content_type!r}; use 'text/html' or 'text/plain'.",
                     column="content_type")


def _decode(raw: bytes, warnings: list[str]) -> str:
    for magic, what in _MAGIC:
        if raw.startswith(magic):
            raise InputError(f"This is {what}, not a web page. Save the page as HTML or copy its "
                             "text.", column="page")
    for bom, enc in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
                     (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
                     (codecs.BOM_UTF16_BE, "utf-16")):
        if raw.startswith(bom):
            return raw.decode(enc, errors="replace")
    head = raw[:4096]
    if b"\x00" in head:
        # UTF-16 without a byte-order mark has a NUL in every other byte of ASCII text.
        even, odd = head[0::2].count(0), head[1::2].count(0)
        half = max(1, len(head) // 2)
        if odd > 0.4 * half and even < 0.05 * half:
            warnings.append("Decoded as UTF-16 (little-endian) without a byte-order mark.")
            return raw.decode("utf-16-le", errors="replace")
        if even > 0.4 * half and odd < 0.05 * half:
            warnings.append("Decoded as UTF-16 (big-endian) without a byte-order mark.")
            return raw.decode("utf-16-be", errors="replace")
        raise InputError("The file contains NUL bytes: it is binary data, not a web page. Save "
                         "the page as HTML or copy its text.", column="page")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    m = _CHARSET.search(raw[:8192])
    if m:
        name = m.group(1).decode("ascii", "replace")
        try:
            codec = codecs.lookup(name)
        except LookupError:
            codec = None
        if codec is not None and codec.name not in ("utf-8",):
            # As browsers do (WHATWG Encoding): Latin-1 and ASCII labels mean Windows-1252.
            use = "cp1252" if codec.name in ("latin_1", "iso8859-1", "ascii") else codec.name
            warnings.append(f"Decoded with the page's declared charset {name!r}.")
            return raw.decode(use, errors="replace")
    warnings.append("The page is not valid UTF-8 and declares no usable charset: decoded as "
                    "Windows-1252 (unknown bytes shown as \ufffd).")
    return raw.decode("cp1252", errors="replace")


def _refuse_binary_text(text: str) -> None:
    sample = text[:65536]
    if not sample:
        return
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f\v")
    replaced = sample.count("\ufffd")
    if "\x00" in sample or controls > max(8, 0.01 * len(sample)) \
            or replaced > max(32, 0.2 * len(sample)):
        raise InputError("The input looks like binary data (control characters), not a web page. "
                         "Save the page as HTML or copy its text.", column="page")


def _html_to_text(markup: str) -> tuple[str, str]:
    import lxml.html
    from lxml import etree

    markup = _XML_DECL.sub("", markup, count=1)
    if not markup.strip():
        return "", ""
    try:
        parser = lxml.html.HTMLParser(huge_tree=True, remove_comments=True, remove_pis=True,
                                      no_network=True)
        root = lxml.html.document_fromstring(markup, parser=parser)
    except (etree.ParserError, ValueError):
        # Not even a fragment lxml can repair (e.g. only a comment): no text to check.
        return "", ""
    title = ""
    t = root.find(".//title")
    if t is not None:
        title = " ".join((t.text_content() or "").split())
    h1 = root.find(".//h1")
    if h1 is not None and not title:
        title = " ".join((h1.text_content() or "").split())
    parts: list[str] = []
    dropped: set[int] = set()
    # lxml creates element proxies on the fly; holding the dropped ones keeps their id()s from
    # being reused by later elements.
    held: list = []
    walker = etree.iterwalk(root, events=("start", "end"))
    for event, el in walker:
        tag = el.tag if isinstance(el.tag, str) else ""
        tag = tag.rsplit("}", 1)[-1].lower()
        if event == "start":
            if not tag or tag in _DROP_TAGS or _hidden(el):
                dropped.add(id(el))
                held.append(el)
                walker.skip_subtree()
                continue
            if tag == "br":
                parts.append("\n")
            elif tag in _BLOCK_TAGS:
                parts.append("\n\n")
            if el.text:
                parts.append(_collapse(el.text))
        else:
            if id(el) not in dropped and tag in _BLOCK_TAGS:
                parts.append("\n\n")
            if el.tail:
                parts.append(_collapse(el.tail))
    text = "".join(parts)
    text = re.sub(r"[ ]*\n[ ]*", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n"), title


_PARSER_DEPTH = 250  # libxml2 drops the rest of a document nested deeper than ~256 elements
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]{0,20})\b[^<>]{0,2000}?(/?)>")
_VOID = frozenset(["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"])


def _max_depth(markup: str) -> int:
    """Nesting depth of the markup, counted from its tags (linear; closers pop by name)."""
    depth = best = 0
    for m in _TAG.finditer(markup):
        name = m.group(2).lower()
        if name in _VOID or m.group(3):
            continue
        depth += -1 if m.group(1) else 1
        depth = max(depth, 0)
        best = max(best, depth)
    return best


def _strip_tags(markup: str) -> str:
    """Text of markup by removing tags (the fallback when parsing fails); scripts, styles and
    comments go first. A loop of ``str.find`` keeps this linear on any input."""
    import html as _html

    low = markup.lower()
    out: list[str] = []
    i = 0
    n = len(markup)
    while i < n:
        j = markup.find("<", i)
        if j < 0:
            out.append(markup[i:])
            break
        out.append(markup[i:j])
        if low.startswith("<!--", j):
            k = markup.find("-->", j + 4)
            i = n if k < 0 else k + 3
            continue
        m = re.match(r"<(script|style|noscript|template|svg|iframe|object|nav|footer|form|"
                     r"button|select|textarea|head)\b", low[j:j + 12])
        if m:
            k = low.find(f"</{m.group(1)}", j)
            k = n if k < 0 else low.find(">", k)
            i = n if k < 0 else k + 1
            continue
        k = markup.find(">", j + 1)
        if k < 0:
            break
        tag = low[j + 1:j + 12]
        out.append("\n\n" if re.match(r"/?(?:p|div|br|li|h[1-6]|tr|section|article)\b", tag)
                   else " ")
        i = k + 1
    text = _html.unescape("".join(out))
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def _hidden(el) -> bool:
    get = el.get
    if get("hidden") is not None or str(get("aria-hidden", "")).lower() == "true":
        return True
    if str(get("role", "")).lower() in ("navigation", "banner", "contentinfo", "search"):
        return True
    style = get("style")
    return bool(style and _HIDDEN_STYLE.search(style))


def _collapse(s: str) -> str:
    return re.sub(r"[ \t\r\n\f\v]+", " ", s)


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", text)
    text = _ZERO_WIDTH.sub("", text)
    # Remaining control characters (not newline) carry no text.
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")


def _first_line(text: str) -> str:
    for line in text.split("\n"):
        if line.strip():
            return line.strip()[:300]
    return ""


# ---------------------------------------------------------------------------------------------
# Sentences
# ---------------------------------------------------------------------------------------------
_ABBREV = frozenset(["et", "al", "dr", "mr", "mrs", "ms", "prof", "vs", "e.g", "i.e", "fig", "no", "vol", "st", "jr", "sr", "approx", "med", "rev", "sci", "am", "int", "res", "ann", "arch", "evid", "complement", "alternat", "altern", "syst", "clin", "j", "physician", "neurosci", "emerg", "intern", "assoc", "natl", "acad", "proc"])
# A boundary: terminal punctuation (and closing quotes/brackets) followed by space, or a period
# glued to the next capitalised word ("drugs.Acupuncture"), or a bullet.
_BOUNDARY = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*\s+(?=\S)|(?<=[a-z]{2}\.)(?=[A-Z][a-z])"
                       r"|(?<=[a-z]\.)\d{1,2}\s+(?=[A-Z])"
                       r"|\s*(?=[\u2022\u25cf\u25aa\u2023])")


def sentences(text: str) -> list[Sentence]:
    """Split the clean text into sentences with offsets (lines and blank-line paragraphs kept)."""
    out: list[Sentence] = []
    paragraph = 0
    pos = 0
    for line_no, line in enumerate(text.split("\n")):
        start_of_line = pos
        pos += len(line) + 1
        if not line.strip():
            paragraph += 1
            continue
        cuts = [0]
        for m in _BOUNDARY.finditer(line):
            cut = m.end()
            if cut <= cuts[-1] or cut >= len(line):
                continue
            # Only the last word matters; a bounded look-back keeps this linear.
            before = line[max(cuts[-1], m.start() - 40):m.start()].rstrip()
            last = re.split(r"[\s(]+", before)[-1].lower().rstrip(".") if before else ""
            # "Wang, Tt." / "Ji M." / "et al." are not sentence ends.
            if last in _ABBREV or (len(last) <= 2 and last.isalpha() and before.endswith(".")):
                continue
            cuts.append(cut)
        cuts.append(len(line))
        bounded = [cuts[0]]
        for b in cuts[1:]:
            while b - bounded[-1] > MAX_SENTENCE_CHARS:
                a = bounded[-1]
                space = line.rfind(" ", a + MAX_SENTENCE_CHARS // 2, a + MAX_SENTENCE_CHARS)
                bounded.append(space + 1 if space > a else a + MAX_SENTENCE_CHARS)
            bounded.append(b)
        for a, b in itertools.pairwise(bounded):
            seg = line[a:b]
            lead = len(seg) - len(seg.lstrip())
            seg = seg.strip()
            if not seg:
                continue
            s = start_of_line + a + lead
            out.append(Sentence(s, s + len(seg), seg, line_no, paragraph, len(out)))
            if len(out) > MAX_SENTENCES:
                raise InputError(f"The page has more than {MAX_SENTENCES:,} sentences: it is not "
                                 "an article the checker can read. Check the article's text on "
                                 "its own.", column="page")
    return out
