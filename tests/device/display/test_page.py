"""The lane page's files: every text colour in lane.css is paired with its background in the same
rule and the pair's contrast ratio passes WCAG 2.1 (computed as the standard defines it; we ask
7:1, AAA, where AA asks 4.5:1); the page loads nothing from elsewhere and holds no words."""

from __future__ import annotations

import re
from importlib import resources

import pytest

STATIC = resources.files("device.display").joinpath("static")
RULE = re.compile(r"([^{}]+)\{([^}]*)\}")
COLOR = re.compile(r"(?:^|;)\s*color:\s*(#[0-9a-fA-F]{6})\s*;")
BACKGROUND = re.compile(r"background-color:\s*(#[0-9a-fA-F]{6})\s*;")
AAA = 7.0


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    """WCAG 2.1 relative luminance of ``#rrggbb``."""
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two colours (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def colour_pairs() -> dict[str, tuple[str, str]]:
    """Every rule of lane.css that sets a text colour: selector -> (text, background)."""
    css = re.sub(r"/\*.*?\*/", "", STATIC.joinpath("lane.css").read_text(), flags=re.S)
    pairs: dict[str, tuple[str, str]] = {}
    for selector, body in RULE.findall(css):
        text = COLOR.search(body)
        if text is None:
            assert "color:" not in body.replace("background-color:", ""), selector
            continue
        background = BACKGROUND.search(body)
        assert background is not None, f"{selector.strip()} sets a colour without a background"
        pairs[selector.strip()] = (text.group(1), background.group(1))
    return pairs


def test_the_formula_matches_known_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # just fails AA


def test_every_screen_has_its_colour_pair() -> None:
    tones = {s.removeprefix("body.tone-") for s in colour_pairs() if s.startswith("body.tone-")}
    assert tones == {"none", "step", "granted", "denied", "alert"}
    assert "#banner" in colour_pairs()


@pytest.mark.parametrize("selector", sorted(colour_pairs()))
def test_every_colour_pair_passes_wcag_aaa(selector: str) -> None:
    text, background = colour_pairs()[selector]
    assert contrast(text, background) >= AAA, (selector, round(contrast(text, background), 2))


def test_the_page_loads_nothing_from_elsewhere_and_holds_no_words() -> None:
    html = STATIC.joinpath("index.html").read_text()
    for name in ("index.html", "lane.css", "lane.js"):
        text = STATIC.joinpath(name).read_text()
        assert "http://" not in text
        assert "https://" not in text
        assert "@import" not in text
        assert "url(" not in text, name
    visible = re.sub(r"<[^>]+>", "", html)
    assert visible.strip() == "", "the page's words come from the catalog, in each view"
    assert "innerHTML" not in STATIC.joinpath("lane.js").read_text()  # text only, never markup
