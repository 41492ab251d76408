"""A command prints its own lines only: TensorFlow's start-up and runtime chatter is dropped.

TensorFlow 2.21 logs through absl from C++ (``I0000 ... cudart_stub.cc:31] Could not find
cuda drivers``, the ``failed call to cuInit`` error line of every CPU machine, oneDNN
notices, ``Sharding callback duration`` from tf.data), and ``TF_CPP_MIN_LOG_LEVEL`` no longer
silences all of it. The one place all of it passes is file descriptor 2, so ``install``
routes that descriptor through a thread that forwards every line except those chatter
patterns. Nothing is filtered when the user sets ``TF_CPP_MIN_LOG_LEVEL`` (they asked for
TensorFlow's logs at that level) or passes ``--debug``.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import select
import sys
import threading

CHATTER = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.]+:\d+\]"  # absl's C++ log line prefix
    rb"|Sharding callback duration"
    rb"|To enable the following instructions:"
    rb"|WARNING:tensorflow:"
    rb"|oneDNN custom operations are on)"
)
_installed = False


def install(debug: bool = False) -> bool:
    """Filter TensorFlow's chatter out of this process's standard error, unless ``debug`` or
    the user's own ``TF_CPP_MIN_LOG_LEVEL``. Call before TensorFlow is imported. True when
    the filter is on."""
    global _installed
    if _installed:
        return True
    if debug or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return False
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"  # what TensorFlow can still silence itself
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("tf2onnx").setLevel(logging.WARNING)  # its conversion steps at INFO
    sys.stderr.flush()
    terminal = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    pump = threading.Thread(target=_forward, args=(read_end, terminal), name="stderr-filter", daemon=True)
    pump.start()

    def restore() -> None:
        # Closing our write end lets the pump see the end of its input and forward the rest.
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(terminal, 2)
        pump.join(timeout=2.0)

    atexit.register(restore)
    _installed = True
    return True


def _forward(read_end: int, terminal: int) -> None:
    """Forward complete lines that are not chatter; a line still open after a short pause (a
    progress line rewritten with ``\\r``, a prompt) is forwarded as it is."""
    pending = b""
    while True:
        ready, _, _ = select.select([read_end], [], [], 0.05 if pending else None)
        if not ready:
            os.write(terminal, pending)
            pending = b""
            continue
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        pending += chunk
        *lines, pending = re.split(rb"(?<=[\r\n])", pending)
        kept = b"".join(line for line in lines if not CHATTER.match(line))
        if kept:
            os.write(terminal, kept)
    if pending and not CHATTER.match(pending):
        os.write(terminal, pending)
    os.close(read_end)
