"""Writing files so that nothing already saved is lost, and a failing disk is one clear line.

- `atomic_write(path, data)`: the new content goes to a temporary file beside `path` (a
  per-process name, so two processes filling one cache never share it), is flushed and fsynced,
  then renamed over `path`, and the folder is fsynced so the rename itself survives a power loss.
  A crash at any point leaves the old file or the new one, never half of either; on failure the
  temporary file is removed. A device or a pipe (`--out /dev/stdout`) is written through instead:
  renaming over it would replace the device itself.
- `writable_folder(path, flag)`: create the folder and prove it takes a file, before the work that
  would write there starts (a read-only checkpoint folder is found at once, not after an hour).
- `writable_file(path, flag)`: the same check for a file an expensive command writes at its end.
- `disk_errors(folder, name, flag)`: the OS errors a user can fix (disk full, read-only, no permission)
  become one LadderError that says where and what to do; anything else stays a real error.
"""

import contextlib
import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from common.errors import LadderError

FULL = {errno.ENOSPC, errno.EDQUOT}  # the disk, or the user's quota on it
FIXABLE = FULL | {errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EEXIST, errno.EISDIR}


def explain(e: OSError, folder: Path, name: str = "", flag: str = "") -> str:
    """One line for an OSError met while writing file `name` in `folder` (or creating `folder`)."""
    what = f" (writing {name})" if name else ""
    elsewhere = f", or pass another folder with {flag}" if flag else ""
    if e.errno in FULL:
        return (
            f"no space left on the disk holding {folder}{what}: free space there (old checkpoints/<run>/ "
            f"folders, .cache/ and wandb/ are the usual big ones){elsewhere}"
        )
    if e.errno == errno.EROFS:
        return f"cannot write in {folder}{what}: read-only file system{elsewhere}"
    if e.errno in (errno.EACCES, errno.EPERM):
        return f"cannot write in {folder}{what}: permission denied; fix its permissions{elsewhere}"
    if e.errno == errno.EISDIR:
        return f"cannot write in {folder}{what}: a folder stands where the file should be{elsewhere}"
    return f"cannot write in {folder}{what}: a file stands where a folder should be{elsewhere}"


@contextlib.contextmanager
def disk_errors(folder, name: str = "", flag: str = ""):
    """Turn the fixable OS errors of the block into one LadderError about writing in `folder`."""
    try:
        yield
    except OSError as e:
        if e.errno not in FIXABLE:
            raise
        raise LadderError(explain(e, Path(folder), name, flag)) from None


def atomic_write(path, data: str | bytes | Callable[[BinaryIO], None], flag: str = "") -> None:
    """Replace `path` with `data` (text, bytes, or a function writing to a binary file) atomically."""
    path = Path(path)
    write = data if callable(data) else lambda f: f.write(data.encode() if isinstance(data, str) else data)
    if is_stream(path):  # renaming over /dev/null or a pipe would replace the device itself (as root)
        with disk_errors(path.parent, path.name, flag), open(path, "wb") as f:
            write(f)
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with disk_errors(path.parent, path.name, flag):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(tmp, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())  # the bytes are on disk before the name points at them
            os.replace(tmp, path)
        except BaseException:  # also Ctrl-C and errors from `data`: never leave the temp behind
            tmp.unlink(missing_ok=True)
            raise
        fsync_folder(path.parent)


def is_stream(path: Path) -> bool:
    """A device or a pipe (/dev/stdout, /dev/null, a FIFO): written through, never replaced."""
    return path.exists() and not path.is_file() and not path.is_dir()


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def writable_folder(path, flag: str = "") -> Path:
    """Create folder `path` if needed and check a file can be written in it; one line if not."""
    path = Path(path)
    probe = path / f".write-test.{os.getpid()}"
    with disk_errors(path, flag=flag):
        path.mkdir(parents=True, exist_ok=True)
        try:
            probe.write_bytes(b"")
        finally:
            probe.unlink(missing_ok=True)
    return path


def writable_file(path, flag: str = "") -> Path:
    """Check, before the work whose result goes to file `path`, that it can be written there: not a
    folder, and its folder takes a file (created if needed). A device or pipe passes as it is."""
    path = Path(path)
    if path.is_dir():
        raise LadderError(f"{flag or 'the output'} {path} is a folder; give a file path such as {path / 'out.md'}")
    if not is_stream(path):
        writable_folder(path.parent, flag)
    return path
