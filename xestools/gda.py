"""GDA scan commands: the scannables a ``scan`` command moves and the nominal points they visit.

The readers use the command to find a scan's loop order and nominal grid; analysis uses it to group
repeats by their nominal ranges (a scan still in progress already belongs to its series). It sits
below both io and analysis, which never import each other.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from xestools.model import Channel

#: the incident-energy (monochromator) scannable of I20
INCIDENT_MOTOR = "bragg1WithOffset"
#: the emission-energy (spectrometer) scannables of I20
EMISSION_MOTORS = ("XESEnergyUpper", "XESEnergyLower", "XESEnergyGroup")


@dataclass(frozen=True)
class Motor:
    """One scannable of a GDA ``scan`` command: its name and the nominal points it visits."""

    name: str
    ranges: tuple[tuple[float, float, float], ...] = ()
    fixed: float | None = None

    @property
    def moves(self) -> bool:
        return bool(self.ranges)

    def nominal_points(self, channel: Channel | None = None) -> np.ndarray:
        """Nominal positions: each range start..stop by step, GDA style (stop included within 1e-6 steps).

        A ``...Group`` scannable moves both spectrometers together: Range1 is the upper one,
        Range2 the lower one; other scannables visit their ranges one after another.
        """
        ranges = self.ranges
        if self.name.endswith("Group") and len(ranges) > 1:
            index = 1 if channel is Channel.LOWER else 0
            ranges = ranges[index:index + 1]
        points: list[np.ndarray] = []
        for start, stop, step in ranges:
            if step == 0 or not all(math.isfinite(v) for v in (start, stop, step)):
                continue
            count = int(math.floor(abs((stop - start) / step) + 1e-6)) + 1
            direction = 1.0 if stop >= start else -1.0
            points.append(start + direction * abs(step) * np.arange(min(count, 10_000_000)))
        return np.concatenate(points) if points else np.empty(0)


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(r"\[[^\]]*\]|[^\s\[\]]+")


def parse_command(command: str) -> list[Motor]:
    """The scannables of a GDA command in loop order (first = outer loop).

    ``scan bragg1WithOffset 9658.0 9663.0 0.3 XESEnergyUpper [Range1 : 8628.00, 8649.90, 0.30] ...``
    gives bragg1WithOffset (one range) then XESEnergyUpper (one range); a single number after a
    name is a fixed position; names without numbers (detectors) are skipped.
    """
    tokens = _TOKEN.findall(command or "")
    if tokens and tokens[0].lower() in ("scan", "cscan", "rscan", "mscan"):
        tokens = tokens[1:]
    motors: list[Motor] = []
    position = 0
    while position < len(tokens):
        name = tokens[position]
        position += 1
        if re.fullmatch(_NUMBER, name) or name.startswith("["):
            continue
        numbers: list[float] = []
        while position < len(tokens) and re.fullmatch(_NUMBER, tokens[position]):
            numbers.append(float(tokens[position]))
            position += 1
        if position < len(tokens) and tokens[position].startswith("[") and not numbers:
            ranges = []
            for chunk in re.finditer(rf"Range\d*\s*:\s*({_NUMBER})\s*,\s*({_NUMBER})\s*,\s*({_NUMBER})",
                                     tokens[position]):
                ranges.append(tuple(float(chunk.group(i)) for i in (1, 2, 3)))
            position += 1
            if ranges:
                motors.append(Motor(name, ranges=tuple(ranges)))
            continue
        if len(numbers) >= 3:
            motors.append(Motor(name, ranges=((numbers[0], numbers[1], numbers[2]),)))
        elif len(numbers) >= 1:
            motors.append(Motor(name, fixed=numbers[0]))
    return motors


def moving_motors(command: str) -> list[Motor]:
    return [motor for motor in parse_command(command) if motor.moves]


__all__ = ["EMISSION_MOTORS", "INCIDENT_MOTOR", "Motor", "moving_motors", "parse_command"]
