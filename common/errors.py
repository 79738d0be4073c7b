"""User-facing errors: one line that says what was wrong and what to do, never a traceback."""

import os
import sys


class LadderError(Exception):
    """An error caused by the user's input. Its message is printed as one line."""


def run_cli(main, *args, **kwargs):
    """Call `main`, turning user errors into one line on stderr and exit status 2."""
    try:
        return main(*args, **kwargs)
    except LadderError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except BrokenPipeError:  # `python sample.py CKPT | head`: the reader left early, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's exit flush must not fail again
        sys.exit(1)
