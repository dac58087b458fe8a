"""Chinese, Japanese and Korean mail is found by any word of two or more characters inside
its text, on every search backend: a table of queries over a fixed archive of messages
written here as raw bytes, in UTF-8, ISO-2022-JP, GB2312 (holding GBK characters), EUC-KR
and Shift_JIS, in bodies, RFC 2047 subjects, a sender's name and an attachment's name.

The archive is built by ``tests/search/query_archive.py``, as the main query table's is.
"""

from __future__ import annotations

import re
from base64 import b64encode
from datetime import datetime
from urllib.parse import quote

import pytest

from app.search.query import QueryError, matching_ids, search_messages
from mailbox.parse import parse_message
from tests.conftest import SEARCH_IDS, SEARCHES
from tests.search.agreement import disagreements
from tests.search.query_archive import Spec, build


def _words(text: str, charset: str) -> bytes:
    """An RFC 2047 encoded word of ``text`` in ``charset``."""
    return b"=?" + charset.encode() + b"?B?" + b64encode(text.encode(charset)) + b"?="


def _raw(n: int, sender: bytes, subject: bytes, body: str, charset: str, *,
         transfer: str = "8bit", attachment: tuple[str, bytes] | None = None) -> bytes:
    """A message as a mailer in ``charset`` writes it, with an attachment when given."""
    encoded = body.encode(charset)
    if transfer == "base64":
        encoded = b64encode(encoded)
    head = [b"From: " + sender, b"To: support@desk.example", b"Subject: " + subject,
            b"Date: Mon, 1 Jan 2024 09:00:00 +0900", f"Message-ID: <cjk-{n}@mail.example>".encode(),
            b"MIME-Version: 1.0"]
    text_part = [f"Content-Type: text/plain; charset={charset}".encode(),
                 f"Content-Transfer-Encoding: {transfer}".encode(), b"", encoded]
    if attachment is None:
        return b"\r\n".join(head + text_part) + b"\r\n"
    name, data = attachment
    boundary = f"cjk-{n}".encode()
    return b"\r\n".join([
        *head, b'Content-Type: multipart/mixed; boundary="' + boundary + b'"', b"",
        b"--" + boundary, *text_part, b"--" + boundary,
        b"Content-Type: application/pdf",
        f"Content-Disposition: attachment; filename*=UTF-8''{quote(name)}".encode(),
        b"Content-Transfer-Encoding: base64", b"", b64encode(data),
        b"--" + boundary + b"--", b""])


# What each message says, as its reader sees it; the raw bytes below write it.
JA_INVOICE_BODY = "請求書PDFのエクスポート(export)が14日で止まります。"
JA_MEETING_BODY = "東京。都庁で会議があります。見積書をお送りします。"
JA_QUOTE_BODY = "見積書の再発行をお願いします。請求書ではありません。ｶﾀｶﾅの控え"
ZH_INVOICE_BODY = "我们的发票导出在十四号停止了。旧系统里的發票也一样。"
ZH_REFUND_BODY = "请退还重复付款，invoice 1042。"
KO_INVOICE_BODY = "인보이스 내보내기가 실패했습니다. 송장을 확인해 주세요."
EN_THAI_BODY = "The invoice export fails. สวัสดีครับ ใบแจ้งหนี้"

SPECS = {
    "ja_invoice": Spec(_raw(1, _words("山田 太郎", "utf-8") + b" <yamada@acme.example>",
                            _words("請求書の件", "utf-8"), JA_INVOICE_BODY, "utf-8"),
                       datetime(2024, 1, 10)),
    "ja_meeting": Spec(_raw(2, b"suzuki@acme.example", _words("会議の議事録", "iso-2022-jp"),
                            JA_MEETING_BODY, "iso-2022-jp", transfer="7bit"),
                       datetime(2024, 1, 11)),
    "ja_quote": Spec(_raw(3, b"sato@acme.example", _words("見積書", "shift_jis"), JA_QUOTE_BODY,
                          "shift_jis", transfer="base64", attachment=("請求書_2024.pdf", b"%PDF-")),
                     datetime(2024, 1, 12), attachment_text="添付ファイルの見積書"),
    # Labelled GB2312, as mailers label it, but written in GBK: 發 is GBK only.
    "zh_invoice": Spec(_raw(4, b"li@birch.example", _words("发票导出失败", "gb2312"), ZH_INVOICE_BODY,
                            "gbk").replace(b"charset=gbk", b"charset=gb2312"),
                       datetime(2024, 2, 1)),
    "zh_refund": Spec(_raw(5, _words("王小明", "gb2312") + b" <wang@birch.example>",
                           _words("退款申请", "utf-8"), ZH_REFUND_BODY, "utf-8", transfer="base64"),
                      datetime(2024, 2, 2)),
    "ko_invoice": Spec(_raw(6, b"kim@birch.example", _words("송장 문의", "euc-kr"), KO_INVOICE_BODY,
                            "euc-kr"),
                       datetime(2024, 3, 1)),
    "en_thai": Spec(_raw(7, b"ann@acme.example", b"Invoice export", EN_THAI_BODY, "utf-8"),
                    datetime(2024, 3, 2)),
}
ALL = frozenset(SPECS)

TABLE = {
    # A word inside a run of text, in each script
    "請求書": {"ja_invoice", "ja_quote"},  # ja_quote: in its body and its attachment's name
    "エクスポート": {"ja_invoice"},
    "止まります": {"ja_invoice"},
    "見積書": {"ja_meeting", "ja_quote"},
    "再発行": {"ja_quote"},
    "ｶﾀｶﾅ": {"ja_quote"},
    "添付": {"ja_quote"},  # attachment text
    "发票": {"zh_invoice"},
    "發票": {"zh_invoice"},  # decoded as GBK, though labelled GB2312
    "十四号": {"zh_invoice"},
    "退还": {"zh_refund"},
    "인보이스": {"ko_invoice"},
    "보내기": {"ko_invoice"},
    "확인해": {"ko_invoice"},
    # Pairs across punctuation, or across the edge of a run, are no words
    "京都": set(),
    "東京都庁": set(),
    "書のエ": set(),  # 書 ends its run where PDF begins
    "都庁": {"ja_meeting"},
    "请求": set(),
    # Phrases and mixed scripts
    '"東京 都庁"': {"ja_meeting"},
    '"請求書 PDF"': {"ja_invoice"},
    "請求書 PDF export": {"ja_invoice"},
    '"PDF 請求書"': set(),
    "invoice 退还": {"zh_refund"},
    "invoice": {"zh_refund", "en_thai"},
    '"请退还重复付款 invoice 1042"': {"zh_refund"},
    "14 止まります": {"ja_invoice"},
    # Boolean operators
    "請求書 -見積書": {"ja_invoice"},
    "請求書 NOT 見積書": {"ja_invoice"},
    "请退还 OR 송장": {"zh_refund", "ko_invoice"},
    "发票 AND 导出": {"zh_invoice"},
    "(東京 OR 发票) -导出": {"ja_meeting"},
    "-請求書 -invoice": {"ja_meeting", "zh_invoice", "ko_invoice"},
    # Fields
    "subject:請求書": {"ja_invoice"},
    "subject:書の件": {"ja_invoice"},
    "subject:议事录": set(),
    "subject:議事録": {"ja_meeting"},
    "subject:송장": {"ko_invoice"},
    'subject:"发票导出"': {"zh_invoice"},
    "from:山田": {"ja_invoice"},
    'from:"山田 太郎"': {"ja_invoice"},
    "from:王小明": {"zh_refund"},
    "from:小明 退还": {"zh_refund"},
    "filename:請求書": {"ja_quote"},
    "filename:請求書.pdf": {"ja_quote"},
    "filename:2024 filename:請求": {"ja_quote"},
    "filename:見積書": set(),
    # Thai is found by its whole runs
    "สวัสดีครับ": {"en_thai"},
    "สวัสดี": set(),
}


@pytest.fixture(scope="module", params=SEARCHES, ids=SEARCH_IDS)
def archive(request, tmp_path_factory):
    database, search = request.param
    return build(database, tmp_path_factory.mktemp(f"cjk-{database}-{search}"), request, specs=SPECS,
                 search=search)


def labels(archive, results) -> set[str]:
    return archive.labels([hit.message_id for hit in results.hits])


@pytest.mark.parametrize(("text", "expected"), TABLE.items(), ids=TABLE.keys())
def test_each_cjk_query_finds_exactly_its_messages_with_the_exact_total(archive, text, expected):
    results = search_messages(archive.index, text, pagelen=100)

    assert labels(archive, results) == expected
    assert results.total == len(results.hits) == len(expected)
    assert sorted(matching_ids(archive.index, text)) == sorted(h.message_id for h in results.hits)


@pytest.mark.parametrize("archive", SEARCHES[:2], ids=SEARCH_IDS[:2], indirect=True)
def test_the_fast_matching_finds_what_whooshs_matchers_find_for_every_cjk_query(archive):
    assert [d for text in TABLE for d in disagreements(archive.index, text)] == []


@pytest.mark.parametrize("text", ["猫", "(猫 OR 犬)", "subject:猫"])
def test_a_query_of_one_cjk_character_is_refused_with_what_to_write(archive, text):
    with pytest.raises(QueryError, match="single characters?; Chinese, Japanese and Korean text is "
                                         "searched by two characters or more"):
        search_messages(archive.index, text)


def test_snippets_mark_the_matched_characters_not_the_whole_run(archive):
    texts = {archive.ids["ja_invoice"]: JA_INVOICE_BODY, archive.ids["zh_invoice"]: ZH_INVOICE_BODY}

    ja, = search_messages(archive.index, "エクスポート", texts=lambda ids: texts).hits
    zh, = search_messages(archive.index, '"导出" 十四号', texts=lambda ids: texts).hits

    assert ja.snippet == "請求書PDFの<mark>エクスポート</mark>(export)が14日で止まります。"
    assert zh.snippet == "我们的发票<mark>导出</mark>在<mark>十四号</mark>停止了。旧系统里的發票也一样。"


EXPECTED = {
    "ja_invoice": ("請求書の件", "山田 太郎", JA_INVOICE_BODY, ()),
    "ja_meeting": ("会議の議事録", "", JA_MEETING_BODY, ()),
    "ja_quote": ("見積書", "", JA_QUOTE_BODY, ("請求書_2024.pdf",)),
    "zh_invoice": ("发票导出失败", "", ZH_INVOICE_BODY, ()),
    "zh_refund": ("退款申请", "王小明", ZH_REFUND_BODY, ()),
    "ko_invoice": ("송장 문의", "", KO_INVOICE_BODY, ()),
    "en_thai": ("Invoice export", "", EN_THAI_BODY, ()),
}


@pytest.mark.parametrize("label", SPECS)
def test_each_message_of_the_archive_decodes_to_what_its_writer_wrote(label):
    parsed = parse_message(SPECS[label].raw)

    subject, name, body, files = EXPECTED[label]
    assert (parsed.subject, parsed.from_name, re.sub(r"\s+$", "", parsed.text)) == (subject, name, body)
    assert tuple(a.filename for a in parsed.attachments) == files
    assert not [d for d in parsed.defects if "charset" in d]
