"""Every setting is documented for operators (a new one without docs fails here)."""

from __future__ import annotations

from pathlib import Path

from goodwill.settings import Settings

DOC = Path(__file__).parent.parent / "docs" / "operations.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    missing = [name for name in Settings.model_fields if f"`GOODWILL_{name.upper()}`" not in text]
    assert missing == []


def test_every_setting_has_a_description() -> None:
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []
