"""User-facing errors: one line that says what was wrong and what to do, never a traceback."""

import os
import sys


class LadderError(Exception):
    """An error caused by the user's input. Its message is printed as one line."""


class Stopped(KeyboardInterrupt):
    """A run stopped by a signal (SIGINT, SIGTERM) after saving a checkpoint: resumable."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def run_cli(main, *args, **kwargs):
    """Call `main`, turning user errors into one line on stderr and exit status 2."""
    try:
        return main(*args, **kwargs)
    except LadderError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt as e:  # 128 + the signal, as a shell reports a process it stopped
        signum = getattr(e, "signum", 2)
        print("interrupted" if signum == 2 else "stopped by signal", file=sys.stderr)
        sys.exit(128 + signum)
    except BrokenPipeError:  # `python sample.py CKPT | head`: the reader left early, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's exit flush must not fail again
        sys.exit(1)
