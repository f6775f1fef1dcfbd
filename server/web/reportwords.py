"""The daily report's printed words (PDF and XLSX) from the catalogs, in the reader's language
(``report``, ``report.metric``, ``report.override`` and ``direction``)."""

from __future__ import annotations

from server.services.reports.daily_export import ReportWords
from server.web.i18n import Translator


def report_words(language: str, *, day: str, zone: str) -> ReportWords:
    """The words of one day's report; ``zone`` names the zone chosen (or all zones)."""
    t = Translator(language)
    return ReportWords(
        title=t("report.heading", day=day, zone=zone),
        word=lambda key: t(f"report.{key}"),
        refusals_note=t("report_refusals.note"),
        metric=lambda name: t(f"report.metric.{name}"),
        override=lambda code: t(f"report.override.{code}"),
        direction=lambda d: t(f"direction.{d}") if t.has(f"direction.{d}") else d,
    )
