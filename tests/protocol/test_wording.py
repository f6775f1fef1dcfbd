"""The lane's one catalog: every reason code has a screen and a spoken line in each language,
both languages have the same keys, and no line is a placeholder."""

from __future__ import annotations

import re

import pytest

from protocol.reasons import ReasonCode
from protocol.wording import LANGUAGES, clip_texts, line, lines, reason_key


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("code", list(ReasonCode), ids=lambda c: c.value)
def test_every_reason_has_a_screen_and_a_spoken_line(code: ReasonCode, language: str) -> None:
    said = line(reason_key(code), language)
    assert said.screen.strip()
    assert said.spoken.strip()


def test_both_catalogs_have_the_same_keys() -> None:
    zh, en = (set(lines(language)) for language in LANGUAGES)
    assert zh == en
    assert set(clip_texts("zh-CN")) == set(clip_texts("en"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_placeholders(language: str) -> None:
    placeholder = re.compile(r"\{|\}|TODO|FIXME|XXX|\?\?\?|^\s*$")
    for key, said in lines(language).items():
        for text in (said.screen, said.spoken):
            assert not placeholder.search(text), (language, key, text)
    for clip, text in clip_texts(language).items():
        assert text.strip(), (language, clip)
        assert not placeholder.search(text), (language, clip)


def test_chinese_lines_are_chinese() -> None:
    for key, said in lines("zh-CN").items():
        assert re.search(r"[\u4e00-\u9fff]", said.spoken), key
