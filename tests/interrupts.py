"""Ctrl-C tests of long native calls: run a call in a fresh interpreter, send SIGINT, time the reaction.

A native call that polls for signals must raise KeyboardInterrupt soon after Ctrl-C, in the main
thread, with the interpreter still able to exit normally (no helper thread left hanging).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time


def interrupt_delay(setup: str, call: str, wait: float, timeout: float = 30.0) -> float:
    """Seconds from SIGINT to KeyboardInterrupt for ``call``, sent ``wait`` seconds after ``setup``.

    ``setup`` and ``call`` are Python source (any indentation); ``call`` must still be running
    ``wait`` seconds after ``setup`` ends. Fails the test when the child finishes the call, exits
    otherwise, or does not end within ``timeout`` seconds of the signal.
    """
    script = "\n".join(
        [
            "import sys, time",
            textwrap.dedent(setup),
            'print("ready", flush=True)',
            "try:",
            textwrap.indent(textwrap.dedent(call), "    "),
            "except KeyboardInterrupt:",
            '    print("interrupted", time.time(), flush=True)',
            "    sys.exit(0)",
            'print("finished", flush=True)',
            "sys.exit(1)",
        ]
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    time.sleep(wait)
    t_sig = time.time()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    assert out.startswith("interrupted"), out
    return float(out.split()[1]) - t_sig
