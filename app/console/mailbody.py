"""Customer mail HTML made safe to show to agents: sanitised with nh3 (the Rust ammonia
sanitiser), wrapped in a small document of its own, and served with a Content-Security-Policy.

The console serves each message's HTML body as its own document in an ``<iframe sandbox>``.
Three layers each stop what the others might miss: the sanitiser keeps only formatting
markup, the sandbox runs no scripts and gives the document no origin, and the policy from
``body_csp`` allows no scripts and no remote loads. Remote images (tracking pixels, mostly)
load only when the agent asks for them for that message. Pure functions, no Flask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import nh3

_TAGS = frozenset(
    "a abbr address b bdi bdo big blockquote br caption center cite code col colgroup dd del dfn div "
    "dl dt em font h1 h2 h3 h4 h5 h6 hr i img ins kbd li mark ol p pre q s samp small span strike "
    "strong sub sup table tbody td tfoot th thead tr tt u ul var wbr".split()
)
# Dropped with everything inside them: their content is code, styles or embedded
# documents, never text the customer wrote for a reader.
_CONTENT_DROPPED = frozenset(
    "script style svg math iframe frame frameset object embed applet noscript noembed noframes "
    "template title textarea select".split()
)
_CELL = {"width", "height", "colspan", "rowspan", "bgcolor", "valign", "nowrap", "background"}
_ATTRIBUTES = {
    "*": {"align", "dir", "lang", "title", "style"},
    "a": {"href"},
    "img": {"src", "srcset", "alt", "width", "height", "border", "hspace", "vspace"},
    "table": {"width", "height", "border", "cellpadding", "cellspacing", "bgcolor", "background",
              "summary", "frame", "rules"},
    "tr": {"height", "bgcolor", "valign", "background"},
    "td": _CELL,
    "th": _CELL | {"scope"},
    "col": {"span", "width", "valign"},
    "colgroup": {"span", "width", "valign"},
    "thead": {"valign"},
    "tbody": {"valign"},
    "tfoot": {"valign"},
    "font": {"color", "face", "size"},
    "ol": {"start", "type"},
    "ul": {"type"},
    "li": {"value", "type"},
    "hr": {"size", "width", "noshade", "color"},
}
_SIDES = ("", "-top", "-right", "-bottom", "-left")
_STYLE_PROPERTIES = frozenset(
    [f"margin{s}" for s in _SIDES]
    + [f"padding{s}" for s in _SIDES]
    + [f"border{s}{p}" for s in _SIDES for p in ("", "-color", "-style", "-width")]
    + """color background background-color font font-family font-size font-style font-variant
    font-weight line-height letter-spacing word-spacing text-align text-decoration text-indent
    text-transform white-space vertical-align direction border-collapse border-spacing
    border-radius width height min-width max-width min-height max-height display float clear
    list-style-type table-layout caption-side empty-cells word-break overflow-wrap word-wrap""".split()
)
# CSS functions that only compute colours and lengths; any other function (url(), image-set(),
# expression() ...) can load or run something, so its declaration is dropped.
_CSS_FUNCTIONS = frozenset(("rgb", "rgba", "hsl", "hsla", "calc", "min", "max", "clamp"))
_CSS_FUNCTION = re.compile(r"([-\w]*)\s*\(")
# nh3 checks href and src against these; the filter below then decides per tag and attribute.
_URL_SCHEMES = {"http", "https", "mailto", "tel", "data", "cid"}
_LINK_SCHEMES = frozenset(("http", "https", "mailto", "tel"))
_DATA_IMAGE = re.compile(r"data:image/(png|gif|jpeg|jpg|webp|bmp)[;,]", re.I)
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):")
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_SRCSET_CANDIDATE = re.compile(r"[\s,]*(\S+)")
_REMOTE_ATTRIBUTES = {("img", "src"), ("img", "srcset"), ("table", "background"),
                      ("tr", "background"), ("td", "background"), ("th", "background")}

_DOCUMENT_STYLE = (
    "html{color-scheme:light}"
    "body{margin:8px;font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1f2328;"
    "background:#fff;overflow-wrap:anywhere}"
    "img{max-width:100%;height:auto}"
    "pre{white-space:pre-wrap}"
    "table{max-width:100%}"
    "blockquote{margin:0 0 0 .6em;padding-left:.8em;border-left:3px solid #d0d7de;color:#57606a}"
)


@dataclass(frozen=True)
class SanitisedHtml:
    """A sanitised HTML fragment and how many remote references were blocked in it."""

    html: str
    # Remote references (an image's src or srcset, a table's background) removed because
    # remote content was not allowed: what the agent would load by asking for it. CSS url()
    # is removed in either mode, so it is not counted.
    blocked_remote: int


def sanitise_html(html: str, *, allow_remote: bool) -> SanitisedHtml:
    """Return mail HTML reduced to formatting markup, with remote images kept only if allowed."""
    urls = _UrlFilter(allow_remote)
    cleaned = nh3.clean(
        html,
        tags=set(_TAGS),
        clean_content_tags=set(_CONTENT_DROPPED),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        attribute_filter=urls,
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        filter_style_properties=set(_STYLE_PROPERTIES),
        strip_comments=True,
    )
    return SanitisedHtml(html=cleaned, blocked_remote=urls.blocked)


def body_document(html: str, *, allow_remote: bool) -> tuple[str, int]:
    """Return a whole HTML document showing the sanitised mail body, and its blocked remote count."""
    body = sanitise_html(html, allow_remote=allow_remote)
    document = (
        "<!doctype html>\n"
        '<html><head><meta charset="utf-8">'
        # Remote images, when allowed, must not learn which message they were shown in.
        '<meta name="referrer" content="no-referrer">'
        '<base target="_blank">'
        f"<style>{_DOCUMENT_STYLE}</style>"
        f"</head><body>\n{body.html}\n</body></html>\n"
    )
    return document, body.blocked_remote


def body_csp(allow_remote: bool) -> str:
    """Return the Content-Security-Policy header value for a document from ``body_document``."""
    images = "data: https: http:" if allow_remote else "data:"
    return "; ".join((
        "default-src 'none'",
        f"img-src {images}",
        # Inline only: the document's own <style> and the filtered style attributes.
        "style-src 'unsafe-inline'",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
        # No allow-scripts, no allow-same-origin. Popups are allowed so that links, which
        # all have target="_blank", open in a new tab outside the sandbox.
        "sandbox allow-popups allow-popups-to-escape-sandbox",
    ))


class _UrlFilter:
    """nh3 attribute filter: checks URL-bearing attributes and style, counting blocked remote ones."""

    def __init__(self, allow_remote: bool) -> None:
        self.allow_remote = allow_remote
        self.blocked = 0

    def __call__(self, tag: str, attr: str, value: str) -> str | None:
        if attr.startswith("on"):  # ammonia never allows them; a second no costs nothing
            return None
        if attr == "style":
            return _safe_style(value)
        if attr == "href":
            return value if _scheme(_normalised(value)) in _LINK_SCHEMES else None
        if (tag, attr) == ("img", "src") and _DATA_IMAGE.match(_normalised(value)):
            return value
        if (tag, attr) in _REMOTE_ATTRIBUTES:
            return self._remote(value, srcset=attr == "srcset")
        return value

    def _remote(self, value: str, *, srcset: bool) -> str | None:
        urls = _srcset_urls(value) if srcset else [value]
        remote = [_remote_url(url) for url in urls]
        if not any(remote):
            return None  # cid:, relative, other schemes: nothing here can load them
        if not self.allow_remote:
            self.blocked += 1
            return None
        if not all(remote):
            return None
        if srcset:  # kept only as written plainly; anything odd is dropped, src still shows the image
            return value if all(url == _normalised(url) and _scheme(url) for url in urls) else None
        return remote[0]


def _normalised(url: str) -> str:
    # As browsers read URLs (WHATWG URL parsing): outer spaces and controls stripped, tabs and
    # newlines removed anywhere ("jav&#x09;ascript:"), backslashes as slashes.
    return _TAB_NEWLINE.sub("", url.strip(_C0_AND_SPACE)).replace("\\", "/")


def _scheme(url: str) -> str | None:
    match = _SCHEME.match(url)
    return match.group(1).lower() if match else None


def _remote_url(url: str) -> str | None:
    """Return the absolute http(s) URL a browser would fetch for ``url``, or None if not remote."""
    url = _normalised(url)
    if url.startswith("//"):
        return "https:" + url
    return url if _scheme(url) in ("http", "https") else None


def _srcset_urls(value: str) -> list[str]:
    """Return the candidate URLs of a srcset value (HTML's "parse a srcset attribute", simplified)."""
    urls: list[str] = []
    pos = 0
    while match := _SRCSET_CANDIDATE.match(value, pos):
        url, pos = match.group(1), match.end()
        if url.endswith(","):
            urls.append(url.rstrip(","))
            continue
        urls.append(url)
        comma = value.find(",", pos)  # descriptors ("2x", "480w") hold no commas
        if comma < 0:
            break
        pos = comma + 1
    return [url for url in urls if url]


def _safe_style(value: str) -> str | None:
    """Drop declarations that could load or run anything; nh3 then keeps only allowed properties."""
    kept = [d for d in value.split(";") if d.strip() and _is_inert_declaration(d)]
    return ";".join(kept) or None


def _is_inert_declaration(declaration: str) -> bool:
    # Escapes and comments can spell a function name in pieces, so a declaration with
    # either is dropped whole rather than decoded.
    text = declaration.lower()
    if "\\" in text or "/*" in text or "*/" in text:
        return False
    return all(name in _CSS_FUNCTIONS for name in _CSS_FUNCTION.findall(text))
