"""The printed words of cards and delivery checklists, from the catalogs (``cards.face``,
``cards.checklist``): a card face carries both languages (anyone may read it), a checklist the
operator's."""

from __future__ import annotations

from server.services.passes.cards import CardWords
from server.services.passes.delivery import ChecklistWords
from server.web.i18n import Translator


def face_words() -> CardWords:
    """A card face in Chinese and English (the English instruction last)."""
    zh, en = Translator("zh-CN"), Translator("en")

    def both(key: str) -> str:
        return f"{zh(key)} {en(key)}"

    return CardWords(
        kinds=tuple(
            (kind, both(f"cards.face.{kind}")) for kind in ("resident", "visitor", "staff")
        ),
        valid=both("cards.face.valid"),
        until=zh.messages["cards.face.until"],
        instruction=(zh("cards.face.show"), zh("cards.face.digits"), en("cards.face.show")),
        pin_digits=zh("cards.face.pin_digits"),
        tear_off=both("cards.face.tear_off"),
        pin_label=f"{zh('cards.face.pin_label')} / {en('cards.face.pin_label')}",
        nothing=both("cards.face.nothing"),
    )


def checklist_words(language: str) -> ChecklistWords:
    """A delivery checklist's words in ``language``."""
    t = Translator(language)
    raw = t.messages  # the placeholders are filled in when the page is drawn
    return ChecklistWords(
        title=raw["cards.checklist.title"],
        summary=raw["cards.checklist.summary"],
        continued=raw["cards.checklist.continued"],
        room=t("cards.checklist.room"),
        names=t("cards.checklist.names"),
        cards=t("cards.checklist.cards"),
        delivered=t("cards.checklist.delivered"),
        signature=t("cards.checklist.signature"),
        footer=t("cards.checklist.footer"),
    )
