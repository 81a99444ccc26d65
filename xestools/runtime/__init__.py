"""Crash-hardened runtime: logging, crash reports, faulthandler, signals, monitors, safe slots."""
