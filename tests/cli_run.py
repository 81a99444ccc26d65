"""Running the ``xestools`` command line in-process, for the CLI tests."""
from __future__ import annotations

from xestools.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    """``xestools *argv`` in this process: exit status, standard output, standard error."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err
