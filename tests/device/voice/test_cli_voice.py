"""``gatepass-gate voice render`` and ``voice say``: the operator's commands, end to end with
the real espeak-ng and aplay (ALSA's null device)."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.cli import main
from protocol.wording import clip_texts
from tests.device.voice.conftest import needs_aplay


@needs_aplay
def test_render_then_say(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pypinyin")
    count = len(clip_texts("en"))
    assert main(["voice", "render", "--out", str(tmp_path), "--language", "en"]) == 0
    assert capsys.readouterr().out == f"en: {count} rendered, 0 unchanged ({tmp_path / 'en'})\n"
    assert main(["voice", "render", "--out", str(tmp_path), "--language", "en"]) == 0
    assert f"0 rendered, {count} unchanged" in capsys.readouterr().out
    say = ["voice", "say", "--clips", str(tmp_path), "--recorded", str(tmp_path / "none")]
    say += ["--language", "en", "--device", "null"]
    assert main([*say, "step.scan", "reason.expired"]) == 0
    assert capsys.readouterr().out == "played 2 of 2 clips: finished\n"
    assert main([*say, "step.scan", "no.such.clip"]) == 1
    assert capsys.readouterr().out == "played 1 of 2 clips: finished\n"


def test_render_refuses_an_unknown_language(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["voice", "render", "--language", "fr"])
    assert "invalid choice" in capsys.readouterr().err
