"""Qt environment hardening, done before the first Qt widget import.

- PySide6 must load its own plugins even when another Qt (conda, Homebrew, a system Qt) is on the
  path: foreign ``QT_PLUGIN_PATH`` / ``QT_QPA_PLATFORM_PLUGIN_PATH`` values are removed (logged) and
  the library path is set to PySide6's plugin folder.
- With no display the user gets one line of explanation instead of Qt's abort, unless the
  offscreen (or another display-less) platform was asked for.
- matplotlib uses the QtAgg backend; pyplot is never imported.
"""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger("xestools.runtime.qtenv")

HEADLESS_PLATFORMS = {"offscreen", "minimal", "vnc", "vkkhrdisplay", "eglfs", "linuxfb"}
FOREIGN_QT_VARIABLES = ("QT_PLUGIN_PATH", "QT_QPA_PLATFORM_PLUGIN_PATH")


class NoDisplayError(RuntimeError):
    """No display to show windows on; the message is the one line the user sees."""


def pyside_plugin_folder() -> Path | None:
    import PySide6

    base = Path(PySide6.__file__).resolve().parent
    for candidate in (base / "Qt" / "plugins", base / "plugins"):
        if candidate.is_dir():
            return candidate
    return None


def _inside(path: str, folder: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(folder.resolve())
    except (OSError, ValueError):
        return False


def harden_environment(environ=None) -> dict:
    """Fix the environment for this process; returns what was changed (for the start-up log)."""
    environ = os.environ if environ is None else environ
    changes: dict[str, str] = {}
    plugins = pyside_plugin_folder()
    for name in FOREIGN_QT_VARIABLES:
        value = environ.get(name)
        if not value:
            continue
        entries = [entry for entry in value.split(os.pathsep) if entry]
        if plugins is not None and entries and all(_inside(entry, plugins) for entry in entries):
            continue
        del environ[name]
        changes[name] = f"removed foreign value {value!r}"
    if plugins is not None and (plugins / "platforms").is_dir():
        environ["QT_QPA_PLATFORM_PLUGIN_PATH"] = str(plugins / "platforms")
    environ["MPLBACKEND"] = "QtAgg"
    environ.setdefault("QT_API", "pyside6")
    return changes


def check_display(environ=None) -> str:
    """The Qt platform that will be used; raises :class:`NoDisplayError` when none can work
    (no display, or the platform plugin cannot load)."""
    environ = os.environ if environ is None else environ
    platform_name = (environ.get("QT_QPA_PLATFORM") or "").split(":")[0].strip().lower()
    if platform_name in HEADLESS_PLATFORMS:
        return platform_name
    if sys.platform.startswith("linux") or sys.platform.startswith("freebsd"):
        if not environ.get("DISPLAY") and not environ.get("WAYLAND_DISPLAY"):
            raise NoDisplayError(
                "xestools: no display found (DISPLAY and WAYLAND_DISPLAY are not set); run it in a desktop "
                "session or with ssh -X, or set QT_QPA_PLATFORM=offscreen for headless use.")
    check_platform_plugin(environ)
    return platform_name or "default"


def _xcb_is_the_route(environ) -> bool:
    platform_name = (environ.get("QT_QPA_PLATFORM") or "").split(":")[0].strip().lower()
    if platform_name:
        return platform_name == "xcb"
    return bool(environ.get("DISPLAY")) and not environ.get("WAYLAND_DISPLAY")


def check_platform_plugin(environ=None) -> None:
    """Load the xcb platform plugin's libraries before Qt does, when Qt will need them.

    Since Qt 6.5 the xcb plugin needs libxcb-cursor0, which many systems lack; Qt then aborts the
    process ("no Qt platform plugin could be initialized"). Loading the plugin with ``ctypes`` first
    turns that into :class:`NoDisplayError` naming the missing library.
    """
    import ctypes

    environ = os.environ if environ is None else environ
    if not sys.platform.startswith("linux") or not _xcb_is_the_route(environ):
        return
    plugins = pyside_plugin_folder()
    plugin = plugins / "platforms" / "libqxcb.so" if plugins is not None else None
    if plugin is None or not plugin.exists():
        return
    try:
        ctypes.CDLL(str(plugin), mode=os.RTLD_LAZY)
    except OSError as exc:
        missing = str(exc).split(":")[0].strip() if "cannot open shared object" in str(exc) else str(exc)
        hint = (" (on Debian/Ubuntu: sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-image0 "
                "libxcb-keysyms1 libxcb-render-util0 libxkbcommon-x11-0; on Fedora/RHEL: xcb-util-cursor "
                "xcb-util-wm xcb-util-image xcb-util-keysyms xcb-util-renderutil libxkbcommon-x11)"
                if "xcb" in missing or "xkbcommon" in missing else "")
        raise NoDisplayError(
            f"xestools: Qt cannot use the X11 display: the xcb platform plugin needs {missing}{hint}; "
            "or set QT_QPA_PLATFORM=wayland (Wayland session) or QT_QPA_PLATFORM=offscreen (headless).") from exc


def apply_library_paths() -> None:
    """Point Qt at PySide6's plugins; call before the QApplication is created."""
    from PySide6.QtCore import QCoreApplication

    plugins = pyside_plugin_folder()
    if plugins is not None:
        QCoreApplication.setLibraryPaths([str(plugins)])


def use_qtagg() -> None:
    import matplotlib

    matplotlib.use("QtAgg")
