"""From bytes to text: encodings, binary data, gzip."""

from __future__ import annotations

import gzip
import random

import pytest

from crawler.bodies import Unreadable, gunzip
from pipelines.decoding import decode

DISH = "Le chef a préparé une crème brûlée pour le dîner."


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252"])
def test_plain_text_comes_out_right_in_every_encoding(encoding):
    assert decode(DISH.encode(encoding), html=False) == DISH


NEWS = {
    "korean": "서울시는 화요일 새 버스 노선을 발표했다. 첫 버스는 9월에 운행을 시작한다.\n시 당국은 정류장 12곳에 쉼터를 추가할 예정이다.",
    "japanese": "東京都は火曜日、新しいバス路線を発表した。最初のバスは九月に運行を開始する。\n都は新しい停留所十二か所に屋根を設ける予定だ。",
    "russian": "В четверг городской совет утвердил бюджет на следующий год.\nНовые автобусы выйдут на линии в сентябре.",
}
WIDE_WITHOUT_BOM = ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"]


@pytest.mark.parametrize("encoding", WIDE_WITHOUT_BOM)
@pytest.mark.parametrize("language", NEWS)
def test_text_in_utf16_or_utf32_without_bom_is_read_in_any_script(language, encoding):
    assert decode(NEWS[language].encode(encoding), html=False) == NEWS[language]


@pytest.mark.parametrize("encoding", WIDE_WITHOUT_BOM)
@pytest.mark.parametrize("language", NEWS)
def test_html_in_utf16_or_utf32_without_bom_is_read_in_any_script(language, encoding):
    page = f"<html><head><title>Bus</title></head><body><p>{NEWS[language]}</p></body></html>"
    assert decode(page.encode(encoding), html=True) == page


@pytest.mark.parametrize(
    "data",
    [bytes(b for x in random.Random(1).randbytes(3000) for b in (x, 0)), random.Random(2).randbytes(5000) + bytes(3), bytes(4000)],
    ids=["random-bytes-with-nul-high-bytes", "random-bytes-with-nuls", "all-nul"],
)
def test_binary_data_with_nul_bytes_is_not_taken_for_utf16_or_utf32(data):
    with pytest.raises(Unreadable) as error:
        decode(data, html=True)
    assert error.value.reason == "binary"


def test_html_meta_charset_is_respected():
    html = f'<html><head><meta charset="windows-1251"></head><body><p>Привет, мир. {DISH}</p></body></html>'
    data = html.replace(DISH, "").encode("cp1251")
    assert "Привет, мир." in decode(data, html=True)


def test_http_header_charset_wins_over_guessing():
    assert decode("Grüße".encode("iso-8859-15"), html=False, content_type="text/plain; charset=iso-8859-15") == "Grüße"


def test_latin1_html_without_declaration_is_read_as_windows_1252():
    assert DISH in decode(f"<p>{DISH}</p>".encode("latin-1"), html=True)


def test_stray_nul_bytes_are_dropped():
    text = ("A long line of ordinary text. " * 20) + "\x00" + "The end."
    assert "\x00" not in decode(text.encode(), html=False)


@pytest.mark.parametrize("control", ["\x01", "\x1b", "\x7f", "\x85", "\x9f"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])  # bytes 0x80-0x9f in Latin-1 are read as cp1252
def test_stray_control_characters_are_dropped_in_any_encoding(control, encoding):
    text = ("A long line of ordinary text. " * 20) + control + "The end."
    assert decode(text.encode(encoding), html=False) == text.replace(control, "")


def test_undefined_windows_1252_bytes_are_dropped_as_controls():
    data = ("Caf\xe9 au lait. " * 30).encode("cp1252") + b"\x81\x9d"
    assert decode(data, html=False) == "Café au lait. " * 30


def test_html_loses_what_trafilatura_removes_before_parsing():
    page = "<p>" + "Ordinary words. " * 20 + "\x0b\x0c\ufffe\uffff</p>"
    assert decode(page.encode(), html=True) == "<p>" + "Ordinary words. " * 20 + "</p>"


def test_text_keeps_vertical_tabs_and_form_feeds():
    text = "Chapter one.\x0cChapter two.\x0bThe end."
    assert decode(text.encode(), html=False) == text


@pytest.mark.parametrize(
    "data",
    [b"\x89PNG\r\n\x1a\n" + bytes(200), b"%PDF-1.7\n%\xe2\xe3", bytes(range(256)) * 4],
    ids=["png", "pdf", "random"],
)
def test_binary_data_is_unreadable_as_binary(data):
    with pytest.raises(Unreadable) as error:
        decode(data, html=True)
    assert error.value.reason == "binary"


@pytest.mark.parametrize("data", [b"", b" \n\t \r\n"], ids=["empty", "whitespace"])
def test_empty_documents_are_unreadable_as_empty(data):
    with pytest.raises(Unreadable) as error:
        decode(data, html=False)
    assert error.value.reason == "empty"


def test_gzip_round_trip():
    assert gunzip(gzip.compress(DISH.encode()), 1000) == DISH.encode()


def test_truncated_gzip_is_refused():
    data = gzip.compress(DISH.encode() * 50)
    with pytest.raises(Unreadable) as error:
        gunzip(data[: len(data) // 2], 10_000)
    assert error.value.reason == "truncated-gzip"


def test_gzip_bomb_stops_at_the_size_limit():
    with pytest.raises(Unreadable) as error:
        gunzip(gzip.compress(bytes(10_000_000)), 1_000_000)
    assert error.value.reason == "too-large"


def test_page_declaring_gb2312_whose_bytes_are_utf8_is_read_as_utf8():
    page = '<html><head><meta charset="gb2312"></head><body><p>北京今天下雨，气温十五度。</p></body></html>'.encode("utf-8")
    assert "北京今天下雨，气温十五度。" in decode(page, html=True)


def test_page_declaring_latin1_whose_bytes_are_not_utf8_is_read_as_declared():
    page = '<html><head><meta charset="iso-8859-1"></head><body><p>crème brûlée</p></body></html>'.encode("latin-1")
    assert "crème brûlée" in decode(page, html=True)


def test_http_header_charset_still_comes_before_the_bytes():
    page = "<html><body><p>Ã©tÃ©</p></body></html>".encode("cp1252")  # valid UTF-8 bytes of "été"
    assert "Ã©tÃ©" in decode(page, html=True, content_type="text/html; charset=windows-1252")
