"""The record of a cut (``metadata["cut"]`` of a cut's spectrum) as named fields of a file, and back.

Every writer puts the record into a file once: a CSV as ``# xestools.cut_*`` header lines, a NeXus
file as ``cut_*`` fields of ``/entry/process/parameters``. The metadata JSON both formats carry
leaves it out, and the readers put it back from those fields (files of earlier versions kept it in
the JSON as well and are read as they are). Energies carry their unit in the name (``cut_width_eV``).
"""
from __future__ import annotations

from typing import Any, Mapping

#: fields of the record whose values are energies in eV (numbers); the others are text
ENERGIES = ("position", "width")
#: order of the known fields in a file (others follow in the record's order)
ORDER = ("type", "position", "width", "statistic", "rule", "coordinate", "view", "channel", "source", "label")


def field_name(key: str) -> str:
    """``position`` → ``cut_position_eV``, ``type`` → ``cut_type``."""
    return f"cut_{key}_eV" if key in ENERGIES else f"cut_{key}"


def fields(metadata: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(field name, value) of the cut recorded in ``metadata``, or [] when it is not a cut."""
    record = metadata.get("cut")
    if not isinstance(record, dict):
        return []
    keys = [key for key in ORDER if key in record] + [key for key in record if key not in ORDER]
    return [(field_name(key), record[key]) for key in keys]


def without_record(metadata: Mapping[str, Any]) -> dict:
    """``metadata`` without the cut's record (written as its own fields instead)."""
    return {key: value for key, value in metadata.items() if key != "cut"}


def from_fields(values: Mapping[str, Any]) -> dict | None:
    """The record from ``{field name: value}`` (other names ignored); None when there is no cut type.

    Energies become floats, everything else text; an energy that is not a number is kept as text.
    """
    if "cut_type" not in values:
        return None
    record: dict[str, Any] = {}
    for name, value in values.items():
        if not name.startswith("cut_"):
            continue
        key = name[len("cut_"):]
        if key.endswith("_eV") and key[:-len("_eV")] in ENERGIES:
            key = key[:-len("_eV")]
            try:
                record[key] = float(value)
            except (TypeError, ValueError):
                record[key] = str(value)
        else:
            record[key] = value if isinstance(value, str) else str(value)
    return record
