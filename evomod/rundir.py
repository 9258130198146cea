"""Run directories on disk: their files, read and written, and one writer at a time.

A run directory holds:
- ``config.json``: the fully resolved config;
- ``log.csv``: one row per generation, appended at each checkpoint
  (:class:`LogAppender`; a resume cuts off rows written after the last one);
- ``best.json``: the hall of fame, best first, in the JSON exchange format;
- ``population.npz``: the final population's genome arrays and scores;
- ``checkpoint.json`` and ``checkpoint.npz``: the loop's whole state at the
  last checkpoint, as JSON and numpy arrays (``evomod.checkpoint``; never a
  pickle, so a checkpoint someone else wrote cannot run code);
- ``.evomod.lock`` while a process writes it: its pid and host.

Every other file is written to a temporary name and renamed, so a killed
run never leaves a half-written file. This module reads and writes them without the
evolution engine (``evomod.runs`` drives a run), so figures and reports
import only this.
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import socket
import stat
import time
from pathlib import Path

import numpy as np

from evomod import checkpoint
from evomod.atomic import TEMPORARY, atomic_write, file_mode
from evomod.errors import FileError
from evomod.schedules import switch_generations

# log.csv's first columns, in order; measured columns (q, ...) follow, then elapsed.
LOG_FIELDS = ("gen", "goal", "best", "median", "mean", "perfect", "cost", "connections")
LOCK_FILE = ".evomod.lock"
LOCK_GRACE_SECONDS = 3.0
# What a run directory may hold besides atomic_write's temporaries.
RUN_FILES = frozenset(
    {
        "config.json",
        "log.csv",
        "best.json",
        "population.npz",
        "run.png",
        LOCK_FILE,
        checkpoint.JSON_FILE,
        checkpoint.ARRAYS_FILE,
        checkpoint.NEXT_ARRAYS_FILE,
        checkpoint.LEGACY_FILE,
    }
)


def write_json(path: Path, obj) -> None:
    atomic_write(path, json.dumps(obj, indent=1) + "\n")


def read_json(path: Path, what: str):
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except OSError as err:
        raise FileError(what, f"cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError as err:
        raise FileError(
            what, f"{path} is not UTF-8 text (byte {err.start}); JSON files are read as UTF-8"
        ) from None
    except json.JSONDecodeError as err:
        raise FileError(what, f"{path} is not valid JSON: {err}") from None
    except RecursionError:
        raise FileError(what, f"{path} nests too deeply to be read") from None


def _malformed(file: str, path, problem: str) -> FileError:
    return FileError(file, f"{path} {problem}: it is damaged, or not evomod's {file}")


def read_best(path) -> dict:
    """A finished run's best.json, checked as far as its readers rely on it:
    ``generation``, ``goal``, ``first_solved`` and the ``networks`` of the
    hall of fame, each with its ``network``, ``performance`` and ``cost``."""
    data = read_json(path, "best.json")
    if not isinstance(data, dict):
        raise _malformed("best.json", path, "is not a JSON object")
    if isinstance(data.get("generation"), bool) or not isinstance(data.get("generation"), int):
        raise _malformed("best.json", path, "has no generation")
    if not isinstance(data.get("goal"), str) or not isinstance(data.get("first_solved"), dict):
        raise _malformed("best.json", path, "lacks its goal or first_solved")
    networks = data.get("networks")
    if not isinstance(networks, list):
        raise _malformed("best.json", path, "has no list of networks")
    for k, entry in enumerate(networks):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("network"), dict)
            or not all(isinstance(entry.get(key), (int, float)) for key in ("performance", "cost"))
        ):
            raise _malformed(
                "best.json", path, f"has a networks[{k}] without its network, performance and cost"
            )
    final = data.get("final")
    if final is not None and not (isinstance(final, dict) and isinstance(final.get("network"), dict)):
        raise _malformed("best.json", path, "has a final entry without its network")
    return data


def read_plan(path) -> dict:
    """A sweep's sweep.json, checked as far as its readers rely on it: a list
    of ``runs``, each with its ``treatment``, ``dir`` and ``seed``."""
    data = read_json(path, "sweep.json")
    runs = data.get("runs") if isinstance(data, dict) else None
    if not isinstance(runs, list):
        raise _malformed("sweep.json", path, "has no list of runs")
    for k, run in enumerate(runs):
        if (
            not isinstance(run, dict)
            or not isinstance(run.get("treatment"), str)
            or not isinstance(run.get("dir"), str)
            or not (run.get("seed") is None or isinstance(run.get("seed"), int))
        ):
            raise _malformed("sweep.json", path, f"has a runs[{k}] without its treatment, dir and seed")
    return data


def log_columns(logbook) -> list[str]:
    extra = []
    for row in logbook:
        for key in row:
            if key not in LOG_FIELDS and key != "elapsed" and key not in extra:
                extra.append(key)
    return [*LOG_FIELDS, *extra, "elapsed"]


def csv_text(rows, columns, header: bool = True) -> str:
    """``rows`` (dicts) as CSV text with a header of ``columns`` (unless
    ``header`` is false: rows to append); other keys are left out. Floats
    are written in full (``repr``), so a value read back is the value
    written: the one CSV writer of logs, reports and adaptation tables."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    if header:
        writer.writeheader()
    for row in rows:
        writer.writerow({k: (repr(float(v)) if isinstance(v, float) else v) for k, v in row.items()})
    return out.getvalue()


# log.csv columns whose values are names, not numbers.
TEXT_COLUMNS = ("goal",)


def parse_value(column: str, text: str):
    """A logged value as the loop recorded it: names stay text, whole
    numbers were ints (repr of a float always has a '.', 'e', 'nan' or 'inf')."""
    if column in TEXT_COLUMNS:
        return text
    digits = text[1:] if text[:1] == "-" else text
    return int(text) if digits.isdigit() else float(text)


class LogAppender:
    """The run's ``log.csv``, written by appending, so a checkpoint's cost
    does not grow with the run.

    At each checkpoint the rows logged since the last one are appended in one
    ``write`` call (a killed process leaves whole rows) and synced; the
    checkpoint then records how far the log reached (``position()``: rows,
    bytes and the SHA-256 of those bytes) instead of holding the rows.
    ``resume`` reads the log back up to that point, checks it against the
    digest and cuts off anything appended after the checkpoint. The digest
    is kept running, so a checkpoint hashes only what it appends. A row with
    a column the header lacks (a measure first logged late) makes the file
    be rewritten once, atomically, with the wider header.
    """

    def __init__(self, directory):
        self.path = Path(directory) / "log.csv"
        self.columns: list[str] | None = None
        self.rows = 0
        self.bytes = 0
        self._digest = hashlib.sha256()

    def position(self) -> dict:
        return {"rows": self.rows, "bytes": self.bytes, "sha256": self._digest.hexdigest()}

    def write(self, logbook) -> None:
        """Put every row of ``logbook`` on disk (appending the new ones)."""
        new = logbook[self.rows :]
        if self.columns is None or any(key not in self.columns for row in new for key in row):
            self._rewrite(logbook)
            return
        if not new:
            return
        chunk = csv_text(new, self.columns, header=False).encode("utf-8")
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
        self.columns = log_columns(logbook)
        data = csv_text(logbook, self.columns).encode("utf-8")
        atomic_write(self.path, data)
        self._digest = hashlib.sha256(data)
        self.rows, self.bytes = len(logbook), len(data)

    def resume(self, position: dict) -> list[dict]:
        """The first ``position["rows"]`` rows, checked against the checkpoint;
        anything past them (written after it) is cut off."""
        try:
            rows, size, digest = int(position["rows"]), int(position["bytes"]), str(position["sha256"])
        except (KeyError, TypeError, ValueError):
            raise FileError(
                "checkpoint.json", f"{self.path.parent} has a checkpoint whose log position is damaged"
            ) from None
        try:
            with open(self.path, "rb") as handle:
                data = handle.read(size)
        except FileNotFoundError:
            raise FileError(
                "log.csv", f"{self.path} is missing; the checkpoint needs its first {rows} rows"
            ) from None
        except OSError as err:
            raise FileError("log.csv", f"cannot read {self.path}: {err.strerror}") from None
        if len(data) < size or hashlib.sha256(data).hexdigest() != digest:
            raise FileError(
                "log.csv",
                f"{self.path} does not match the checkpoint (its first "
                f"{size} bytes changed or are missing); the log is damaged",
            )
        reader = csv.reader(io.StringIO(data.decode("utf-8")))
        columns = next(reader, [])
        parsed = [{c: parse_value(c, v) for c, v in zip(columns, line) if v != ""} for line in reader]
        if not columns or len(parsed) != rows:
            raise FileError(
                "log.csv",
                f"{self.path} holds {len(parsed)} rows where the "
                f"checkpoint counted {rows}; the log is damaged",
            )
        if os.path.getsize(self.path) > size:
            os.truncate(self.path, size)
        self.columns, self.rows, self.bytes = columns, rows, size
        self._digest = hashlib.sha256(data)
        return parsed


def read_log(directory: Path) -> list[dict]:
    path = Path(directory) / "log.csv"
    if not path.exists():
        raise FileError("run", f"{directory} has no log.csv (is it a run directory?)")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except UnicodeDecodeError:
        raise FileError("log.csv", f"{path} is not UTF-8 text") from None
    for n, row in enumerate(rows, start=2):
        for key, value in row.items():
            if key != "goal" and value not in ("", None):
                try:
                    row[key] = float(value)
                except (TypeError, ValueError):
                    raise FileError(
                        "log.csv", f"{path} line {n}: {key} = {value!r} is not a number"
                    ) from None
    return rows


def goal_switches(rows: list[dict]) -> list[float]:
    """Generations at which a log's goal changes."""
    return switch_generations([row["gen"] for row in rows], [row["goal"] for row in rows])


# -- one writer per directory ------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    except OSError:
        return False
    return True


class WriterLock:
    """``.evomod.lock`` in a directory: at most one writing process.

    Exclusion rests on ``fcntl.flock``: the kernel drops the lock when its
    holder dies however it dies, so a lock file left by a killed process is
    stale by construction and is simply taken over. The file holds the
    holder's pid and host for the refusal message. Where ``flock`` is not
    available (or the filesystem refuses it) the lock falls back to the pid:
    a recorded pid that is alive on this host, or any pid on another host,
    refuses; a dead one is taken over.

    A held lock is retried for ``LOCK_GRACE_SECONDS`` before refusing: a
    writer killed a moment ago (say, in an ``fsync``) still holds it until
    the kernel has finished tearing it down.
    """

    def __init__(self, directory, field: str, action: str):
        self.directory = Path(directory)
        self.path = self.directory / LOCK_FILE
        self.field = field
        self.action = action
        self.fd: int | None = None

    def _info(self) -> bytes:
        return (
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "action": self.action,
                    "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                }
            )
            + "\n"
        ).encode()

    @staticmethod
    def _holder(raw: bytes) -> dict:
        try:
            info = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}
        return info if isinstance(info, dict) else {}

    def _busy(self, holder: dict) -> FileError:
        pid, host = holder.get("pid", "unknown"), holder.get("host", "unknown host")
        what = (
            f" ({holder['action']}" + (f", since {holder['since']}" if holder.get("since") else "") + ")"
            if holder.get("action")
            else ""
        )
        return FileError(
            self.field,
            f"{self.directory} is being written by another process, "
            f"pid {pid} on {host}{what}; two writers would corrupt it: wait for it "
            f"to end or stop it (its lock is {self.path})",
        )

    def _cannot(self, err: OSError) -> FileError:
        return FileError(
            self.field,
            f"cannot write in {self.directory}: {err.strerror or err}; the run directory must be writable",
        )

    @staticmethod
    def _flock(fcntl, fd: int) -> None:
        deadline = time.monotonic() + LOCK_GRACE_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def acquire(self) -> WriterLock:
        try:
            import fcntl
        except ImportError:
            fcntl = None
        for _ in range(20):
            # O_NOFOLLOW: a symlink planted as the lock must not make us
            # truncate the file it points to.
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
            try:
                fd = os.open(self.path, flags, 0o666)
            except OSError as err:
                if err.errno == errno.ELOOP:
                    raise FileError(
                        self.field, f"{self.path} is a symbolic link, not a lock file; remove it"
                    ) from None
                raise self._cannot(err) from None
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    raise FileError(self.field, f"{self.path} is not a regular file; remove it")
                locked = False
                if fcntl is not None:
                    try:
                        self._flock(fcntl, fd)
                        locked = True
                    except BlockingIOError:
                        raise self._busy(self._holder(os.pread(fd, 4096, 0))) from None
                    except OSError as err:
                        if err.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                            raise
                if not locked:
                    holder = self._holder(os.pread(fd, 4096, 0))
                    pid = holder.get("pid")
                    if (
                        isinstance(pid, int)
                        and pid != os.getpid()
                        and (holder.get("host") != socket.gethostname() or _pid_alive(pid))
                    ):
                        raise self._busy(holder)
                # The holder before us may have deleted the file after we opened
                # it: then we locked a name nobody else will open. Try again.
                try:
                    now = os.stat(self.path)
                except FileNotFoundError:
                    os.close(fd)
                    continue
                mine = os.fstat(fd)
                if (now.st_dev, now.st_ino) != (mine.st_dev, mine.st_ino):
                    os.close(fd)
                    continue
                os.ftruncate(fd, 0)
                os.pwrite(fd, self._info(), 0)
            except FileError:
                os.close(fd)
                raise
            except OSError as err:
                os.close(fd)
                raise self._cannot(err) from None
            self.fd = fd
            return self
        raise FileError(self.field, f"cannot lock {self.path}: it keeps being replaced")

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            os.unlink(self.path)  # while still holding it: see acquire
        except OSError:
            pass
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


# -- the run directory ---------------------------------------------------------------


def _looks_like_run(path: Path, names: set[str]) -> bool:
    if LOCK_FILE in names or checkpoint.JSON_FILE in names or checkpoint.LEGACY_FILE in names:
        return True
    if "config.json" not in names:
        return False
    try:
        saved = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(saved, dict) and {"seed", "generations", "population"} <= saved.keys()


def check_new_out(out) -> Path:
    """Refuse an ``--out`` that is a file, holds a run, or holds anything else
    than a run that never reached its first checkpoint."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise FileError(
            "--out", f"{out} is an existing file, not a directory; give a new or empty directory for the run"
        )
    if not path.is_dir():
        return path
    try:
        names = set(os.listdir(path))
    except OSError as err:
        raise FileError("--out", f"cannot read {out}: {err.strerror}") from None
    if names & {checkpoint.JSON_FILE, checkpoint.LEGACY_FILE, "best.json"}:
        raise FileError(
            "--out", f"{out} already holds a run; use `evomod resume {out}` or choose another directory"
        )
    foreign = sorted(n for n in names if n not in RUN_FILES and not TEMPORARY.match(n))
    if foreign or (names and not _looks_like_run(path, names)):
        shown = foreign or sorted(names)
        listed = ", ".join(shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
        raise FileError(
            "--out",
            f"{out} is not empty and is not an evomod run (it holds {listed}); give a new or empty directory",
        )
    return path


def logbook_from_rows(rows):
    """A DEAP logbook holding ``rows``, as the loop records them."""
    from deap import tools  # only when resuming: figures and reports never need it

    book = tools.Logbook()
    book.header = list(LOG_FIELDS)
    for row in rows:
        book.append(row)
    return book


class RunDirectory:
    """A run's directory: its checkpoints, log and results.

    The loop's objects are handed in, never imported: ``state`` is the
    loop's State dataclass, ``evolution`` has ``snapshot(state)`` and
    ``config``, and ``state_cls`` is what a checkpoint is loaded into.
    """

    def __init__(self, path, config: dict | None = None):
        self.path = Path(path)
        # config.json's content: what the checkpoints are bound to.
        self.config = config
        self.log = LogAppender(self.path)

    def _write(self, path, data) -> None:
        try:
            atomic_write(path, data)
        except OSError as err:
            raise FileError(Path(path).name, f"cannot write {path}: {err.strerror or err}") from None

    def write_config(self) -> None:
        self._write(self.path / "config.json", json.dumps(self.config, indent=1) + "\n")

    def save_checkpoint(self, evolution, state) -> None:
        evolution.snapshot(state)
        config = self.config if self.config is not None else saved_config(evolution.config)
        try:
            # The log first: the checkpoint commits the position it reached.
            self.log.write(state.logbook)
            checkpoint.save(self.path, state, config, write=self._write, log_position=self.log.position())
        except OSError as err:
            raise FileError(
                checkpoint.JSON_FILE, f"cannot write a checkpoint in {self.path}: {err.strerror or err}"
            ) from None

    def load_checkpoint(self, state_cls):
        config = self.config
        if config is None:
            config = read_json(self.path / "config.json", "config.json")
        state = checkpoint.load(self.path, config, state_cls)
        if isinstance(state.logbook, checkpoint.LogPosition):
            state.logbook = logbook_from_rows(self.log.resume(state.logbook))
        else:  # a version-1 checkpoint held the rows: the log restarts from them
            self.log.write(state.logbook)
        return state

    def save_results(self, evolution, state, best: dict) -> None:
        """The last checkpoint, ``population.npz`` and ``best`` as best.json."""
        self.save_checkpoint(evolution, state)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            performance=state.performance,
            cost=state.cost,
            **{f"genome_{k}": v for k, v in state.genomes.items()},
        )
        self._write(self.path / "population.npz", buffer.getvalue())
        # Written last: best.json marks a finished run.
        self._write(self.path / "best.json", json.dumps(best, indent=1) + "\n")


def saved_config(config) -> dict:
    """A config as config.json holds it (JSON types: lists, not tuples)."""
    return json.loads(json.dumps(config.to_dict()))


def run_status(path) -> str:
    """``"finished"``, ``"interrupted"`` (resumable) or ``"new"``."""
    path = Path(path)
    # best.json is written last (after population.npz): both mark a finished run.
    if (path / "best.json").exists() and (path / "population.npz").exists():
        return "finished"
    # A legacy checkpoint.pkl counts too, so that resume refuses it (it is
    # never loaded) instead of a new run starting over it.
    if (path / checkpoint.JSON_FILE).exists() or (path / checkpoint.LEGACY_FILE).exists():
        return "interrupted"
    return "new"
