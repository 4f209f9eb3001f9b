"""Every enum value of the catalog reads as words in zh-CN and English (the web app shows these
labels, never the raw value)."""

from __future__ import annotations

from dhi.catalog import default_catalog


def test_every_enum_value_of_every_property_has_both_labels() -> None:
    missing = [
        f"{cap.id}.{prop.name}: {value}"
        for cap in default_catalog().values()
        for prop in cap.properties
        if prop.enum
        for value in prop.enum
        if prop.enum_labels is None or value not in prop.enum_labels
    ]
    assert missing == []
