"""Every runtime switch as a command-line option and an environment variable, with its default.

Kept free of Qt, numpy and matplotlib: the supervisor parses the same options before it decides
whether to start a GUI process at all. ``docs/runtime.md`` lists the same table for users.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

CRASH_TEST_KINDS = ("exception", "thread", "segfault", "abort", "hang", "oom", "mpl-callback", "startup",
                    "exit-hang", "slow-exit")


@dataclass(frozen=True)
class Switch:
    """One runtime switch: option name, environment variable, default, help text."""

    option: str
    env: str
    default: object
    kind: type
    help: str
    hidden: bool = False


SWITCHES: tuple[Switch, ...] = (
    Switch("--safe-mode", "XESTOOLS_SAFE_MODE", False, bool,
           "start with default settings, no session restore and no optional extras"),
    Switch("--no-restore", "XESTOOLS_NO_RESTORE", False, bool, "do not restore the previous session"),
    Switch("--log-dir", "XESTOOLS_LOG_DIR", None, str,
           "folder for logs and crash reports (default: logs/ next to main_enhanced.py when writable, "
           "else the user log folder); a folder other users can write is refused for the user log folder"),
    Switch("--session-file", "XESTOOLS_SESSION_FILE", None, str,
           "session file (default: session.json in the user state folder)"),
    Switch("--single-process", "XESTOOLS_SINGLE_PROCESS", False, bool,
           "run the GUI without the supervisor process (debugging)"),
    Switch("--no-dialog", "XESTOOLS_NO_DIALOG", False, bool,
           "after a crash print where the report is and exit non-zero instead of asking"),
    Switch("--log-level", "XESTOOLS_LOG_LEVEL", "INFO", str, "console log level (files always get DEBUG)"),
    Switch("--memory-warn-mb", "XESTOOLS_MEMORY_WARN_MB", 4096.0, float,
           "warn when the GUI process uses more than this many MB (resident)"),
    Switch("--memory-interval", "XESTOOLS_MEMORY_INTERVAL", 5.0, float, "seconds between memory samples"),
    Switch("--hang-seconds", "XESTOOLS_HANG_SECONDS", 10.0, float,
           "report a hang when the event loop does not answer for this many seconds"),
    Switch("--autosave-seconds", "XESTOOLS_AUTOSAVE_SECONDS", 1.5, float,
           "save the session this many seconds after the last change (at the latest max(5, 2 × this) "
           "seconds after the first unsaved one)"),
    Switch("--read-timeout", "XESTOOLS_READ_TIMEOUT", 10.0, float,
           "seconds a data file may take to be read before it is refused as probably damaged"),
    Switch("--new-instance", "XESTOOLS_NEW_INSTANCE", False, bool,
           "when xestools already runs with this session, open a separate window with its own session "
           "instead of handing the files to it"),
    Switch("--watch", "XESTOOLS_WATCH", None, str,
           "watch this data folder: open and follow each new I20 scan that appears in it"),
    Switch("--watch-pattern", "XESTOOLS_WATCH_PATTERN", None, str,
           "with --watch: only scans whose file name matches this pattern (e.g. '*ZnO*')"),
    Switch("--poll-interval", "XESTOOLS_POLL_INTERVAL", 1.0, float,
           "seconds between checks of followed scans and the watched folder for new data"),
    Switch("--crash-test", "XESTOOLS_CRASH_TEST", None, str,
           "fail on purpose shortly after start: " + ", ".join(CRASH_TEST_KINDS), hidden=True),
    Switch("--quit-after", "XESTOOLS_QUIT_AFTER", None, float,
           "shut down in order this many seconds after start-up (tests)", hidden=True),
)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class RuntimeOptions:
    """The parsed switches plus the files to open."""

    files: tuple[str, ...] = ()
    safe_mode: bool = False
    no_restore: bool = False
    log_dir: str | None = None
    session_file: str | None = None
    single_process: bool = False
    no_dialog: bool = False
    log_level: str = "INFO"
    memory_warn_mb: float = 4096.0
    memory_interval: float = 5.0
    hang_seconds: float = 10.0
    autosave_seconds: float = 1.5
    read_timeout: float = 10.0
    new_instance: bool = False
    watch: str | None = None
    watch_pattern: str | None = None
    poll_interval: float = 1.0
    crash_test: str | None = None
    quit_after: float | None = None
    argv: tuple[str, ...] = field(default=(), compare=False)


def _attr(switch: Switch) -> str:
    return switch.option.lstrip("-").replace("-", "_")


def _from_env(switch: Switch, environ) -> object:
    raw = environ.get(switch.env)
    if raw is None:
        return switch.default
    raw = raw.strip()
    if switch.kind is bool:
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise ValueError(f"{switch.env}={raw!r}: expected 1/0, true/false, yes/no")
    if switch.kind is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{switch.env}={raw!r}: expected a number") from None
    return raw or switch.default


def _version() -> str:
    from xestools import __version__

    return __version__


POSITIVE = ("memory_interval", "hang_seconds", "autosave_seconds", "read_timeout", "poll_interval")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xestools-gui",
        description="XES/RXES viewer for Diamond I20 scan files. Every option also has an environment "
                    "variable (shown in brackets); the option wins.")
    parser.add_argument("--version", action="version", version=f"xestools {_version()}")
    parser.add_argument("files", nargs="*", help="scan files to open")
    for switch in SWITCHES:
        help_text = argparse.SUPPRESS if switch.hidden else f"{switch.help} [{switch.env}]"
        dest = _attr(switch)
        if switch.kind is bool:
            parser.add_argument(switch.option, dest=dest, action="store_true", default=None, help=help_text)
        elif switch.kind is float:
            parser.add_argument(switch.option, dest=dest, type=float, default=None, help=help_text)
        elif switch.option == "--crash-test":
            parser.add_argument(switch.option, dest=dest, choices=CRASH_TEST_KINDS, default=None, help=help_text)
        elif switch.option == "--log-level":
            parser.add_argument(switch.option, dest=dest, default=None, type=str.upper,
                                choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"), help=help_text)
        else:
            parser.add_argument(switch.option, dest=dest, default=None, help=help_text)
    return parser


def parse_options(argv: list[str] | None = None, environ=None) -> RuntimeOptions:
    """Options from ``argv`` (without the program name) over environment variables over defaults.

    A malformed environment value is an error (argparse style, exit status 2), not a silent default.
    """
    environ = os.environ if environ is None else environ
    parser = build_parser()
    argv = list(argv) if argv is not None else []
    namespace = parser.parse_args(argv)
    values: dict[str, object] = {"files": tuple(namespace.files), "argv": tuple(argv)}
    for switch in SWITCHES:
        attr = _attr(switch)
        given = getattr(namespace, attr)
        if given is None:
            try:
                given = _from_env(switch, environ)
            except ValueError as exc:
                parser.error(str(exc))
        values[attr] = given
    if values["crash_test"] is not None and values["crash_test"] not in CRASH_TEST_KINDS:
        parser.error(f"XESTOOLS_CRASH_TEST: unknown kind {values['crash_test']!r}")
    values["log_level"] = str(values["log_level"]).upper()
    for name in POSITIVE:
        if not values[name] > 0:   # also refuses NaN
            parser.error(f"--{name.replace('_', '-')}: must be a positive number of seconds, not {values[name]}")
    return RuntimeOptions(**values)


def export_to_environment(options: RuntimeOptions, environ=None) -> None:
    """Switches that other layers and child processes read from the environment.

    ``XESTOOLS_READ_TIMEOUT``: the io layer bounds every read of an untrusted file with it, in this
    process, in the GUI process the supervisor starts, and in the io layer's own probe processes.
    """
    environ = os.environ if environ is None else environ
    environ["XESTOOLS_READ_TIMEOUT"] = f"{options.read_timeout:g}"
    environ["XESTOOLS_POLL_INTERVAL"] = f"{options.poll_interval:g}"   # the GUI's follow/watch timer


def switch_table_markdown() -> str:
    """The README/docs table of public switches (generated from :data:`SWITCHES`)."""
    lines = ["| Option | Environment variable | Default | Meaning |", "|---|---|---|---|"]
    for switch in SWITCHES:
        if switch.hidden:
            continue
        default = {True: "on", False: "off", None: "—"}.get(switch.default, switch.default) \
            if not isinstance(switch.default, float) else f"{switch.default:g}"
        lines.append(f"| `{switch.option}` | `{switch.env}` | {default} | {switch.help} |")
    return "\n".join(lines)
