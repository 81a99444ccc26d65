"""Privacy scrubbing for crash reports and support bundles.

The user's home folder becomes ``~``, the user name ``<user>`` and the host name ``<host>`` in every
string (keys included). Names shorter than 3 characters are left alone: replacing "a" everywhere
would destroy the report without protecting anyone.
"""
from __future__ import annotations

import getpass
import os
import platform
import re
import socket
from pathlib import Path
from typing import Any

USER_PLACEHOLDER = "<user>"
HOST_PLACEHOLDER = "<host>"


def _identity() -> tuple[list[str], list[str], list[str]]:
    homes = []
    for candidate in (os.environ.get("HOME"), os.environ.get("USERPROFILE"), _safe(lambda: str(Path.home()))):
        if candidate and len(candidate) > 1:
            homes.append(candidate.rstrip("/\\"))
            resolved = _safe(lambda c=candidate: str(Path(c).resolve()))
            if resolved and len(resolved) > 1:
                homes.append(resolved.rstrip("/\\"))
    users = {os.environ.get(name) for name in ("USER", "LOGNAME", "USERNAME", "LNAME")}
    users.add(_safe(getpass.getuser))
    account = _safe(_account)
    if account:
        users.add(account[0])
        if account[1] and len(account[1]) > 1:
            homes.append(account[1].rstrip("/\\"))
    hosts = {_safe(socket.gethostname), _safe(platform.node), _safe(socket.getfqdn)}
    hosts |= {h.split(".")[0] for h in list(hosts) if h}
    clean = lambda names: sorted({n for n in names if n and len(n) >= 3}, key=len, reverse=True)  # noqa: E731
    return sorted(set(homes), key=len, reverse=True), clean(users), clean(hosts)


def _account() -> tuple[str, str] | None:
    """(login name, home folder) of the account running the process, where the OS knows it."""
    try:
        import pwd
    except ImportError:
        return None
    entry = pwd.getpwuid(os.getuid())
    return entry.pw_name, entry.pw_dir


def _safe(getter):
    try:
        return getter()
    except (OSError, KeyError, ImportError, RuntimeError):
        return None


class Scrubber:
    """Replaces identifying strings; build once per report (identity is read at construction)."""

    def __init__(self) -> None:
        homes, users, hosts = _identity()
        self._homes = homes
        self._patterns: list[tuple[re.Pattern, str]] = []
        for host in hosts:  # hosts first: a host name may contain the user name
            self._patterns.append((re.compile(r"(?<![A-Za-z0-9])" + re.escape(host) + r"(?![A-Za-z0-9])",
                                              re.IGNORECASE), HOST_PLACEHOLDER))
        for user in users:
            self._patterns.append((re.compile(r"(?<![A-Za-z0-9])" + re.escape(user) + r"(?![A-Za-z0-9])",
                                              re.IGNORECASE), USER_PLACEHOLDER))

    def text(self, value: str) -> str:
        for home in self._homes:
            value = value.replace(home, "~")
        for pattern, placeholder in self._patterns:
            value = pattern.sub(placeholder, value)
        return value

    def data(self, value: Any) -> Any:
        """Scrub every string inside nested dicts/lists/tuples."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(v) for v in value]
        return value
