"""What a file is, as :func:`xestools.io.detect` reports it: a leaf module every reader can import."""
from __future__ import annotations

from dataclasses import dataclass

from ..model import Channel, ScanInfo


@dataclass(frozen=True)
class Detection:
    """What a file is: format, kind ("rxes" | "xes"), channels, shape ([n_Ω, n_ω] or [n]), scan info."""

    path: str
    format: str
    kind: str
    channels: tuple[Channel, ...]
    shape: tuple[int, ...]
    info: ScanInfo | None
