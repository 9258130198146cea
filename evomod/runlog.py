"""``log.csv`` written by appending, so a checkpoint's cost does not grow with the run.

At each checkpoint the rows logged since the last one are appended to
``log.csv`` in one ``write`` call and synced; the checkpoint then records
how far the log reached (rows, bytes and the SHA-256 of those bytes) instead
of holding the rows itself. Resuming reads the log back up to that point,
checks it against the digest and cuts off anything a killed process appended
after its last checkpoint. The digest is kept running, so a checkpoint hashes
only what it appends.

A row that adds a column the header lacks (a measure first logged late)
makes the file be rewritten once, atomically, with the wider header.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from pathlib import Path

from evomod.atomic import atomic_write, file_mode
from evomod.errors import ConfigError

LOG_FILE = "log.csv"
# Columns whose values are names, not numbers.
TEXT_COLUMNS = ("goal",)


def header_of(rows, base_fields) -> list[str]:
    extra = []
    for row in rows:
        for key in row:
            if key not in base_fields and key != "elapsed" and key not in extra:
                extra.append(key)
    return [*base_fields, *extra, "elapsed"]


def rows_csv(rows, columns, header: bool) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    if header:
        writer.writeheader()
    for row in rows:
        # repr: floats read back bit for bit.
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return out.getvalue()


def parse_value(column: str, text: str):
    """A logged value as the loop recorded it: names stay text, whole
    numbers were ints (repr of a float always has a '.', 'e', 'nan' or 'inf')."""
    if column in TEXT_COLUMNS:
        return text
    digits = text[1:] if text[:1] == "-" else text
    return int(text) if digits.isdigit() else float(text)


class LogAppender:
    """The run's ``log.csv``: rows ``[0, rows)`` are on disk, ``bytes`` long."""

    def __init__(self, directory, base_fields):
        self.path = Path(directory) / LOG_FILE
        self.base_fields = list(base_fields)
        self.columns: list[str] | None = None
        self.rows = 0
        self.bytes = 0
        self._digest = hashlib.sha256()

    def position(self) -> dict:
        return {"rows": self.rows, "bytes": self.bytes, "sha256": self._digest.hexdigest()}

    def write(self, logbook) -> None:
        """Put every row of ``logbook`` on disk (appending the new ones)."""
        new = logbook[self.rows:]
        if self.columns is None or any(key not in self.columns for row in new for key in row):
            self._rewrite(logbook)
            return
        if not new:
            return
        chunk = rows_csv(new, self.columns, header=False).encode("utf-8")
        # One write call: a killed process leaves whole rows only.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, file_mode())
        try:
            os.write(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._digest.update(chunk)
        self.rows += len(new)
        self.bytes += len(chunk)

    def _rewrite(self, logbook) -> None:
        self.columns = header_of(logbook, self.base_fields)
        data = rows_csv(logbook, self.columns, header=True).encode("utf-8")
        atomic_write(self.path, data)
        self._digest = hashlib.sha256(data)
        self.rows, self.bytes = len(logbook), len(data)

    def resume(self, position: dict) -> list[dict]:
        """The first ``position["rows"]`` rows, checked against the checkpoint;
        anything past them (written after it) is cut off."""
        try:
            rows, size, digest = int(position["rows"]), int(position["bytes"]), str(position["sha256"])
        except (KeyError, TypeError, ValueError):
            raise ConfigError("checkpoint.json", f"{self.path.parent} has a checkpoint whose log "
                              "position is damaged") from None
        try:
            with open(self.path, "rb") as handle:
                data = handle.read(size)
        except FileNotFoundError:
            raise ConfigError(LOG_FILE, f"{self.path} is missing; the checkpoint needs its "
                              f"first {rows} rows") from None
        except OSError as err:
            raise ConfigError(LOG_FILE, f"cannot read {self.path}: {err.strerror}") from None
        if len(data) < size or hashlib.sha256(data).hexdigest() != digest:
            raise ConfigError(LOG_FILE, f"{self.path} does not match the checkpoint (its first "
                              f"{size} bytes changed or are missing); the log is damaged")
        reader = csv.reader(io.StringIO(data.decode("utf-8")))
        columns = next(reader, None)
        parsed = [{c: parse_value(c, v) for c, v in zip(columns, line) if v != ""} for line in reader]
        if columns is None or len(parsed) != rows:
            raise ConfigError(LOG_FILE, f"{self.path} holds {len(parsed)} rows where the "
                              f"checkpoint counted {rows}; the log is damaged")
        if os.path.getsize(self.path) > size:
            os.truncate(self.path, size)
        self.columns, self.rows, self.bytes = columns, rows, size
        self._digest = hashlib.sha256(data)
        return parsed
