"""Atomic file writes: a temporary file in the same directory, then a rename,
so a killed process never leaves a half-written file behind.

The temporary is named ``.NAME.XXXXXXXX.tmp`` (``TEMPORARY``); a process
killed mid-write leaves one behind, which ``remove_stale_temporaries`` deletes
once the directory's writer holds its lock. Files get the mode an ordinary
``open`` would give them, ``0o666`` less the umask (``mkstemp`` alone gives
``0o600``, unreadable to the rest of a shared filesystem's users).
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

# ".NAME.XXXXXXXX.tmp": mkstemp's random part is letters, digits and "_".
TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]+\.tmp$")


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # os.umask can only be read by setting it; set it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    return 0o666 & ~current_umask()


def atomic_write(path, data: bytes | str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, file_mode())
        with os.fdopen(fd, mode) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def stale_temporaries(directory) -> list[Path]:
    """``atomic_write`` temporaries in ``directory`` (regular files only)."""
    directory = Path(directory)
    found = []
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return found
    for entry in entries:
        if TEMPORARY.match(entry.name) and entry.is_file(follow_symlinks=False):
            found.append(directory / entry.name)
    return sorted(found)


def remove_stale_temporaries(directory) -> list[Path]:
    """Delete what ``stale_temporaries`` finds and return it.

    Only call this while holding the directory's writer lock: a live
    writer's temporary looks the same as a dead one's.
    """
    removed = []
    for path in stale_temporaries(directory):
        try:
            if stat.S_ISREG(os.lstat(path).st_mode):
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            pass
    return removed
