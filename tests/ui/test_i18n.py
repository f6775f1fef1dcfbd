"""Message catalogs: both languages have the same keys, every key a template names exists, every
reason code and lane state has a label, and no template carries text of its own."""

from __future__ import annotations

import re
from importlib import resources

import jinja2
import pytest

from protocol.messages import AlarmKind, CommandKind, CommandOutcome
from protocol.reasons import ReasonCode
from server.services.alerts.kinds import AlertKind
from server.services.gates.commands import CONSOLE_MODES, OPEN_REASONS
from server.web.i18n import LANGUAGES, MissingMessage, Translator, catalog, choose

TEMPLATES = resources.files("server.web").joinpath("templates")
LITERAL_KEY = re.compile(r"""\bt\(\s*["']([a-zA-Z0-9_.\-]+)["']""")
PREFIX_KEY = re.compile(r"""\bt\(\s*["']([a-z_.]+\.)["']\s*~""")
LETTERS = re.compile(r"[A-Za-z\u3400-\u9fff]")
TEXT_ATTRIBUTES = re.compile(r"""\b(placeholder|title|alt|aria-label)\s*=\s*"([^"{]*)""")


def sources() -> dict[str, str]:
    return {p.name: p.read_text("utf-8") for p in TEMPLATES.iterdir() if p.name.endswith(".html")}


def test_catalogs_have_the_same_keys() -> None:
    zh, en = catalog("zh-CN"), catalog("en")
    assert sorted(set(zh) ^ set(en)) == []
    assert all(v.strip() for v in zh.values())
    assert all(v.strip() for v in en.values())


def test_placeholders_match_between_languages() -> None:
    zh, en = catalog("zh-CN"), catalog("en")
    names = re.compile(r"\{(\w+)\}")
    assert [k for k in zh if set(names.findall(zh[k])) != set(names.findall(en[k]))] == []


def test_every_key_named_by_a_template_or_a_page_exists() -> None:
    used = set()
    for text in sources().values():
        used |= {k for k in LITERAL_KEY.findall(text) if not k.endswith(".")}
    sections = {k.split(".")[0] for k in catalog("en")}
    names = "|".join(sorted(sections))
    quoted = re.compile(rf"""["']((?:{names})\.[a-z_.]+[a-z_])["']""")
    web = resources.files("server.web")
    for module in [*web.iterdir(), *web.joinpath("routes").iterdir()]:
        if module.name.endswith(".py"):
            used |= {
                k for k in quoted.findall(module.read_text("utf-8")) if not k.endswith(".html")
            }
    assert {"errors.not_found", "login.failed", "login.throttled"} <= used
    for language in LANGUAGES:
        assert sorted(used - set(catalog(language))) == [], language


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_code_shown_to_staff_has_a_label(language: str) -> None:
    t = Translator(language)
    prefixes = set()
    for text in sources().values():
        prefixes |= set(PREFIX_KEY.findall(text))
    assert {"reasons.", "open_reasons.", "modes.", "direction.", "decision.", "alerts."} <= prefixes
    missing = [f"reasons.{r.value}" for r in ReasonCode if not t.has(f"reasons.{r.value}")]
    missing += [f"alarms.{a.value}" for a in AlarmKind if not t.has(f"alarms.{a.value}")]
    missing += [f"alerts.{k.value}" for k in AlertKind if not t.has(f"alerts.{k.value}")]
    missing += [
        f"commands.kind.{k.value}" for k in CommandKind if not t.has(f"commands.kind.{k.value}")
    ]
    outcomes = [o.value for o in CommandOutcome] + ["waiting", "unsent"]
    missing += [f"commands.outcome.{o}" for o in outcomes if not t.has(f"commands.outcome.{o}")]
    missing += [f"open_reasons.{r}" for r in OPEN_REASONS if not t.has(f"open_reasons.{r}")]
    missing += [f"modes.set.{m}" for m in CONSOLE_MODES if not t.has(f"modes.set.{m}")]
    missing += [f"modes.confirm.{m}" for m in CONSOLE_MODES if not t.has(f"modes.confirm.{m}")]
    missing += [
        f"health.state.{s}"
        for s in ("online", "offline", "starting", "stopping", "unknown")
        if not t.has(f"health.state.{s}")
    ]
    assert missing == []


JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


CLASS_BLOCK = re.compile(r"\{% block body_class %\}.*?\{% endblock %\}")  # class names


def _text_outside_tags(template: str) -> list[str]:
    """Literal text a user would see: outside {{ }}, {% %}, comments and markup."""
    plain = JINJA.sub("", CLASS_BLOCK.sub("", template))
    found = [a[1] for a in TEXT_ATTRIBUTES.findall(plain) if LETTERS.search(a[1])]
    text = re.sub(r"<[^>]*>", " ", plain)
    return found + [w for w in re.split(r"\s+", text) if LETTERS.search(w)]


@pytest.mark.parametrize("name", sorted(sources()))
def test_templates_hold_no_text_of_their_own(name: str) -> None:
    """Every word on a page comes from a catalog (markup, names of fields and classes aside)."""
    assert _text_outside_tags(sources()[name]) == []


def test_unknown_key_and_language() -> None:
    with pytest.raises(MissingMessage):
        Translator("en")("no.such.key")
    assert choose("fr") == "zh-CN"
    assert choose(None) == "zh-CN"
    assert choose("en") == "en"
    assert Translator("xx").language == "zh-CN"


def test_placeholders_are_filled_and_escaped_by_the_renderer() -> None:
    env = jinja2.Environment(autoescape=True)
    out = env.from_string("{{ t('login.throttled', seconds=s) }}").render(
        t=Translator("en"), s="<b>9</b>"
    )
    assert "&lt;b&gt;9&lt;/b&gt;" in out
