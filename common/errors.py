"""User-facing errors: one line that says what was wrong and what to do, never a traceback."""

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
