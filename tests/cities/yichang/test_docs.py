"""The city admin's page lists every text the plugin sends and every setting it reads."""
from __future__ import annotations

from pathlib import Path

from cities.yichang.settings import Settings
from cities.yichang.texts import TEMPLATES

PAGE = (Path(__file__).parents[3] / "docs" / "cities" / "yichang.md").read_text(encoding="utf-8")


def test_every_sms_text_is_documented_word_for_word():
    for template in TEMPLATES:
        assert f"`{template.key}`" in PAGE and template.text in PAGE, template.key


def test_every_setting_is_documented():
    for name in Settings().fields:
        assert f"`{name}`" in PAGE, name
