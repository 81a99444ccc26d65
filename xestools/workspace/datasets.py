"""What is open: one :class:`Dataset` per file, holding every channel the reader returned.

Loading runs on the shared worker pool (:func:`load_files`); a bad file becomes an error entry
naming the file, never an exception escaping into the GUI.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from xestools.model import Channel, RXESMap, ScanInfo, Spectrum

log = logging.getLogger("xestools.workspace.datasets")


@dataclass
class Dataset:
    """One opened file and the objects read from it (one per channel)."""

    path: str
    objects: list = field(default_factory=list)

    @property
    def key(self) -> str:
        return os.path.abspath(self.path)

    def replace_objects(self, objects) -> None:
        """New objects read from the same file (a followed scan grew)."""
        self.objects = list(objects)

    @property
    def kind(self) -> str:
        return "rxes" if any(isinstance(obj, RXESMap) for obj in self.objects) else "xes"

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(obj.channel for obj in self.objects if obj.channel is not None)

    @property
    def info(self) -> ScanInfo | None:
        for obj in self.objects:
            if obj.info is not None:
                return obj.info
        return None

    @property
    def maps(self) -> list[RXESMap]:
        return [obj for obj in self.objects if isinstance(obj, RXESMap)]

    @property
    def spectra(self) -> list[Spectrum]:
        return [obj for obj in self.objects if isinstance(obj, Spectrum)]

    def map_for(self, channel: Channel | str | None) -> RXESMap | None:
        """The map of ``channel`` (the first map when ``channel`` is None or absent)."""
        maps = self.maps
        for rxes_map in maps:
            if channel is not None and rxes_map.channel is not None and rxes_map.channel.value == str(
                    getattr(channel, "value", channel)):
                return rxes_map
        return maps[0] if maps and channel is None else None

    @property
    def sample_name(self) -> str:
        info = self.info
        return info.sample_name if info is not None and info.sample_name else ""

    @property
    def scan_number(self) -> int | None:
        info = self.info
        return info.scan_number if info is not None else None

    @property
    def title(self) -> str:
        parts = [self.sample_name or os.path.basename(self.path)]
        if self.scan_number is not None:
            parts.append(f"scan {self.scan_number}")
        return " — ".join(parts)

    @property
    def warnings(self) -> list[str]:
        found: list[str] = []
        for obj in self.objects:
            for text in obj.metadata.get("warnings", []) or []:
                if text not in found:
                    found.append(str(text))
        return found


@dataclass
class LoadOutcome:
    """Result of loading one path: objects, or an error message naming the file."""

    path: str
    objects: list | None = None
    error: str = ""


def load_files(paths: list[str], report_progress=None) -> list[LoadOutcome]:
    """Read every path with ``xestools.io.load`` (on a worker thread); errors become messages."""
    from xestools.io import load
    from xestools.io.errors import XesFormatError

    outcomes: list[LoadOutcome] = []
    for index, path in enumerate(paths):
        name = os.path.basename(path)
        try:
            objects = load(path)
        except XesFormatError as exc:
            outcomes.append(LoadOutcome(path, error=str(exc)))
        except OSError as exc:
            outcomes.append(LoadOutcome(path, error=f"{name}: cannot read the file ({exc.strerror or exc})"))
        except Exception as exc:  # a reader bug must not take the window down; logged with traceback
            log.exception("unexpected error while loading %s", path)
            outcomes.append(LoadOutcome(path, error=f"{name}: unexpected error while reading ({exc!r}); "
                                                    "see the log for details"))
        else:
            if not objects:
                outcomes.append(LoadOutcome(path, error=f"{name}: no spectrum or map found in the file"))
            else:
                outcomes.append(LoadOutcome(path, objects=list(objects)))
        if report_progress is not None:
            report_progress(index + 1, len(paths))
    return outcomes
