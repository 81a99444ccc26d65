"""The reader process: runs the real detection and readers on untrusted HDF5, one request at a time.

Started by :mod:`xestools.io.sandbox` as ``python -m xestools.io._sandbox_child <parent pid>``.
Requests arrive on stdin and replies leave on the original stdout, both as framed pickles; anything
a library prints goes to stderr. The process dies with its parent (PR_SET_PDEATHSIG on Linux), even
when it is stuck inside libhdf5, and exits when its parent closes the request pipe.
"""
from __future__ import annotations

import os
import signal
import sys


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        if libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0) != 0:
            sys.stderr.write(f"xestools reader: prctl failed (errno {ctypes.get_errno()})\n")
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(0)


def _serve(requests, replies) -> int:
    from xestools.io import sandbox
    from xestools.io.errors import XesFormatError
    from xestools.io.reader import read_in_process

    sandbox.send(replies, ("ready", os.getpid()))
    while True:
        request = sandbox.receive(requests)
        if request is None:
            return 0
        operation, path, channel, folder = request
        try:
            if folder is not None:
                os.chdir(folder)  # the parent's working folder: its relative paths name the same files
            reply = ("ok", read_in_process(operation, path, channel))
        except XesFormatError as error:
            reply = ("error", error.path, error.problem, error.hint)
        except OSError as error:
            reply = ("error", path, f"cannot be read: the folder it was named from is gone ({error})",
                     "open it by its full path")
        except MemoryError as error:
            reply = ("error", path, f"cannot be read: the reader ran out of memory ({error})",
                     "open the file on a machine with more memory")
        sandbox.send(replies, reply)


def main(argv: list[str]) -> int:
    _die_with_parent(int(argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in a terminal is the parent's to handle
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    return _serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
