"""Checkpoints without pickle: the loop's ``State`` as ``.npz`` arrays plus JSON.

A checkpoint is two files in the run directory:

- ``checkpoint.npz``: every numpy array of the state (genomes, scores, the
  hall of fame's genomes), written with ``np.savez`` and read back with
  ``allow_pickle=False``, so loading it can never run code;
- ``checkpoint.json``: everything else (generator states, the hall of
  fame's fitness values, counters, and where ``log.csv`` reached: its rows
  stay in that file, which is only ever appended to, see
  :mod:`evomod.runlog`), a format version, the SHA-256
  of the run's resolved config (``config.json``'s content as canonical JSON)
  and the SHA-256 of the ``.npz`` bytes and of the state's JSON.

The state is stored generically, field by field of the ``State`` dataclass
and by value type, so a field added to ``State`` needs no change here as long
as its value is built from the supported types: ``None``, ``bool``, ``int``,
``float``, ``str``, ``bytes``, numpy scalars and arrays (not of objects),
``list``, ``tuple``, ``dict``, DEAP's ``Logbook`` and ``HallOfFame`` (of
``deap.creator`` dict individuals and an ``evomod.evolve`` ``similar``).
Anything else is refused when saving, with the field's name.

``load`` refuses, with one ``FileError`` naming the file, an unknown format
version, a config that no longer matches the one the checkpoint was made
with (naming the settings that differ), a checksum mismatch, a file that is
truncated, empty or not a checkpoint at all, and a legacy ``checkpoint.pkl``
(never opened: a pickle can run arbitrary code).

Writes keep the directory resumable whenever a process is killed: the arrays
go to ``checkpoint.next.npz`` first, then ``checkpoint.json`` (the commit
point, naming the arrays' checksum) replaces the old one, then the arrays are
renamed to ``checkpoint.npz``. A kill between the last two steps leaves a
``checkpoint.json`` whose checksum matches ``checkpoint.next.npz``; ``load``
accepts that file (and only on a matching checksum).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import math
import os
import stat
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from evomod.atomic import atomic_write
from evomod.errors import FileError

JSON_FILE = "checkpoint.json"
ARRAYS_FILE = "checkpoint.npz"
NEXT_ARRAYS_FILE = "checkpoint.next.npz"
LEGACY_FILE = "checkpoint.pkl"
FORMAT = "evomod-checkpoint"
VERSION = 2
# Version 1 held the logbook's rows; it is still read.
READABLE_VERSIONS = (1, 2)


class LogPosition(dict):
    """Stands in for the logbook in a loaded state: how far ``log.csv``
    reached at the checkpoint (``rows``, ``bytes``, ``sha256``)."""


# -- hashing -------------------------------------------------------------------


def canonical_json(obj) -> str:
    """One text per value: sorted keys, no spaces, UTF-8, floats as repr."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def config_hash(config: dict) -> str:
    """The SHA-256 of a resolved config (what ``config.json`` holds)."""
    return sha256_text(canonical_json(config))


def config_differences(saved, current, prefix: str = "", limit: int = 6) -> list[str]:
    """Dotted names of the settings that differ, each with both values."""
    out: list[str] = []

    def walk(a, b, name):
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in list(a) + [k for k in b if k not in a]:
                walk(a.get(key, _MISSING), b.get(key, _MISSING), f"{name}.{key}" if name else str(key))
            return
        if canonical_json(_plain(a)) != canonical_json(_plain(b)):
            out.append(f"{name} ({_show(a)} in the checkpoint, {_show(b)} in config.json)")

    walk(saved, current, prefix)
    return out


class _Missing:
    def __repr__(self):
        return "absent"


_MISSING = _Missing()


def _plain(value):
    return None if value is _MISSING else value


def _show(value) -> str:
    if value is _MISSING:
        return "absent"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


# -- encoding ------------------------------------------------------------------


def _tag(name: str, value) -> dict:
    return {f"__{name}__": value}


class _Encoder:
    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def array(self, value: np.ndarray, where: str) -> str:
        if value.dtype.hasobject:
            raise TypeError(
                f"checkpoint: {where} is an array of Python objects, which cannot be stored without pickle"
            )
        key = f"a{len(self.arrays)}"
        self.arrays[key] = value
        return key

    def encode(self, value, where: str):
        # numpy scalars first (np.float64 is a float), bool before int (a bool
        # is an int), Logbook before list (it is one).
        if isinstance(value, np.generic):
            if value.dtype.kind in "biuf":
                return _tag("scalar", [value.dtype.str, self.encode(value.item(), where)])
            return _tag("scalar_array", self.array(np.asarray(value), where))
        if value is None or type(value) in (bool, str):
            return value
        if type(value) is int:
            return value
        if type(value) is float:
            return value if math.isfinite(value) else _tag("float", repr(value))
        if isinstance(value, np.ndarray):
            return _tag("array", self.array(value, where))
        if isinstance(value, bytes):
            return _tag("bytes", base64.b64encode(value).decode("ascii"))
        from deap import tools

        if isinstance(value, tools.Logbook):
            return _tag("logbook", self.logbook(value, where))
        if isinstance(value, tools.HallOfFame):
            return _tag("halloffame", self.hall_of_fame(value, where))
        if type(value) is tuple:
            return _tag("tuple", [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)])
        if type(value) is list:
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if type(value) is dict:
            if all(isinstance(k, str) and not k.startswith("__") for k in value):
                return {k: self.encode(v, f"{where}.{k}") for k, v in value.items()}
            return _tag(
                "items",
                [
                    [self.encode(k, f"{where} key"), self.encode(v, f"{where}[{k!r}]")]
                    for k, v in value.items()
                ],
            )
        raise TypeError(
            f"checkpoint: cannot store {where} of type {type(value).__qualname__} "
            "(see evomod.checkpoint for the supported types)"
        )

    def logbook(self, book, where: str) -> dict:
        attrs = {}
        for name, value in vars(book).items():
            if name == "chapters":
                continue
            attrs[name] = self.encode(value, f"{where}.{name}")
        return {
            "rows": [self.encode(dict(row), f"{where}[{i}]") for i, row in enumerate(book)],
            "attrs": attrs,
            "chapters": {
                str(name): self.encode(chapter, f"{where}.chapters.{name}")
                for name, chapter in book.chapters.items()
            },
        }

    def hall_of_fame(self, hof, where: str) -> dict:
        from deap import creator

        extra = set(vars(hof)) - {"maxsize", "keys", "items", "similar"}
        if extra:
            raise TypeError(f"checkpoint: {where} has attributes {sorted(extra)} it cannot store")
        similar = hof.similar
        similar_name = f"{getattr(similar, '__module__', '?')}:{getattr(similar, '__qualname__', '?')}"
        items = []
        kind = None
        for i, ind in enumerate(hof.items):
            cls = type(ind)
            if not isinstance(ind, dict) or getattr(creator, cls.__name__, None) is not cls:
                raise TypeError(
                    f"checkpoint: {where}[{i}] is a {cls.__qualname__}, not a deap.creator dict individual"
                )
            if kind not in (None, cls.__name__):
                raise TypeError(f"checkpoint: {where} mixes individual classes")
            kind = cls.__name__
            extra = set(vars(ind)) - {"fitness"}
            if extra:
                raise TypeError(f"checkpoint: {where}[{i}] has attributes {sorted(extra)} it cannot store")
            items.append(
                {
                    "genome": self.encode(dict(ind), f"{where}[{i}]"),
                    "fitness": [self.encode(float(v), f"{where}[{i}].fitness") for v in ind.fitness.values],
                }
            )
        return {
            "maxsize": self.encode(hof.maxsize, f"{where}.maxsize"),
            "similar": similar_name,
            "individual": kind,
            "items": items,
        }


class _Damaged(Exception):
    """Raised while decoding; becomes a FileError naming the file."""


class _Decoder:
    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays
        self.used: set[str] = set()

    def array(self, key) -> np.ndarray:
        if not isinstance(key, str) or key not in self.arrays:
            raise _Damaged(f"names an array {key!r} that {ARRAYS_FILE} does not hold")
        self.used.add(key)
        return self.arrays[key]

    def decode(self, value):
        if value is None or isinstance(value, (bool, str, int, float)):
            return value
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            raise _Damaged(f"holds an unexpected value {value!r}")
        if len(value) == 1:
            (key,) = value
            if key.startswith("__"):
                return self.tagged(key, value[key])
        return {k: self.decode(v) for k, v in value.items()}

    def tagged(self, tag: str, body):
        if tag == "__float__":
            if body not in ("nan", "inf", "-inf"):
                raise _Damaged(f"holds a bad float {body!r}")
            return float(body)
        if tag == "__array__":
            return self.array(body)
        if tag == "__scalar__":
            dtype, item = body
            dtype = np.dtype(dtype)
            if dtype.kind not in "biuf":
                raise _Damaged(f"holds a scalar of type {dtype}")
            return dtype.type(self.decode(item))
        if tag == "__scalar_array__":
            return self.array(body)[()]
        if tag == "__bytes__":
            return base64.b64decode(body.encode("ascii"), validate=True)
        if tag == "__tuple__":
            return tuple(self.decode(v) for v in body)
        if tag == "__items__":
            return {self.decode(k): self.decode(v) for k, v in body}
        if tag == "__logbook__":
            return self.logbook(body)
        if tag == "__logfile__":
            if not isinstance(body, dict):
                raise _Damaged("holds a bad log position")
            return LogPosition(body)
        if tag == "__halloffame__":
            return self.hall_of_fame(body)
        raise _Damaged(f"holds an unknown entry {tag!r}")

    def logbook(self, body):
        from deap import tools

        book = tools.Logbook()
        for name, value in body["attrs"].items():
            setattr(book, name, self.decode(value))
        book.chapters = defaultdict(tools.Logbook)
        for name, chapter in body["chapters"].items():
            book.chapters[name] = self.decode(chapter)
        for row in body["rows"]:
            row = self.decode(row)
            if not isinstance(row, dict):
                raise _Damaged("holds a logbook row that is not a table")
            book.append(row)
        return book

    def hall_of_fame(self, body):
        from deap import creator, tools

        from evomod import evolve

        module, _, name = str(body["similar"]).partition(":")
        similar = getattr(evolve, name, None) if module == evolve.__name__ and "." not in name else None
        if not callable(similar):
            raise _Damaged(f"names a similarity function {body['similar']!r} outside evomod.evolve")
        kind = body["individual"]
        cls = getattr(creator, kind, None) if isinstance(kind, str) else None
        if body["items"] and not (isinstance(cls, type) and issubclass(cls, dict)):
            raise _Damaged(f"names an individual class {kind!r} that deap.creator does not hold")
        maxsize = self.decode(body["maxsize"])
        hof = tools.HallOfFame(maxsize, similar=similar)
        individuals = []
        for entry in body["items"]:
            genome = self.decode(entry["genome"])
            if not isinstance(genome, dict):
                raise _Damaged("holds a hall-of-fame genome that is not a table")
            ind = cls(genome)
            ind.fitness.values = tuple(float(self.decode(v)) for v in entry["fitness"])
            individuals.append(ind)
        # Worst first: each insert then lands at the front, rebuilding the
        # saved order (ties included) and DEAP's key list exactly.
        for ind in reversed(individuals):
            hof.insert(ind)
        for a, b in zip(hof.items, individuals):
            if a.fitness.values != b.fitness.values:
                raise _Damaged("holds a hall of fame out of order")
        return hof


# -- files -----------------------------------------------------------------------


def save(
    directory,
    state,
    config: dict,
    write: Callable[[Path, bytes | str], None] = atomic_write,
    log_position: dict | None = None,
) -> None:
    """Store ``state`` (a dataclass) for the run whose resolved config is
    ``config``. With ``log_position``, the state's ``logbook`` is stored as
    that position in ``log.csv`` instead of its rows."""
    if not dataclasses.is_dataclass(state):
        raise TypeError("checkpoint: the state must be a dataclass")
    directory = Path(directory)
    encoder = _Encoder()
    fields = {
        f.name: (
            _tag("logfile", dict(log_position))
            if f.name == "logbook" and log_position is not None
            else encoder.encode(getattr(state, f.name), f.name)
        )
        for f in dataclasses.fields(state)
    }
    buffer = io.BytesIO()
    np.savez(buffer, **encoder.arrays)
    arrays = buffer.getvalue()
    state_json = fields
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "state_class": type(state).__qualname__,
        "generation": getattr(state, "generation", None),
        "config_sha256": config_hash(config),
        "arrays_file": ARRAYS_FILE,
        "arrays_sha256": hashlib.sha256(arrays).hexdigest(),
        "state_sha256": sha256_text(canonical_json(state_json)),
        "config": config,
        "state": state_json,
    }
    text = json.dumps(doc, ensure_ascii=False) + "\n"
    write(directory / NEXT_ARRAYS_FILE, arrays)
    write(directory / JSON_FILE, text)
    os.replace(directory / NEXT_ARRAYS_FILE, directory / ARRAYS_FILE)


def _refuse(file: str, path: Path, problem: str) -> FileError:
    return FileError(file, f"{path} {problem}")


def _read(path: Path, file: str) -> bytes:
    try:
        # Not a device or a FIFO someone put in its place (/dev/zero never ends).
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise _refuse(file, path, "is not a regular file")
        return path.read_bytes()
    except FileNotFoundError:
        raise _refuse(file, path, "is missing; the checkpoint is incomplete") from None
    except OSError as err:
        raise _refuse(file, path, f"cannot be read: {err.strerror}") from None


def load(directory, config: dict, state_cls):
    """The state saved in ``directory``, checked against the run's ``config``."""
    directory = Path(directory)
    json_path = directory / JSON_FILE
    if not json_path.exists():
        legacy = directory / LEGACY_FILE
        if legacy.exists():
            raise _refuse(
                LEGACY_FILE,
                legacy,
                "is a legacy pickle checkpoint; pickle checkpoints "
                "are not loaded for safety (unpickling can run any code); start the run "
                "again in a new directory",
            )
        raise FileError("run", f"{directory} has no {JSON_FILE} to resume from")
    raw = _read(json_path, JSON_FILE)
    if not raw.strip():
        raise _refuse(JSON_FILE, json_path, "is empty (a damaged checkpoint)")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        reason = "not UTF-8" if isinstance(err, UnicodeDecodeError) else f"not valid JSON ({err})"
        raise _refuse(
            JSON_FILE, json_path, f"is not a checkpoint: {reason}; it is truncated or damaged"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _refuse(JSON_FILE, json_path, "is not an evomod checkpoint")
    version = doc.get("version")
    if version not in READABLE_VERSIONS:
        raise _refuse(
            JSON_FILE,
            json_path,
            f"has checkpoint format version {version!r}; "
            f"this evomod reads versions {', '.join(map(str, READABLE_VERSIONS))}",
        )
    try:
        saved_hash, arrays_hash, state_hash = doc["config_sha256"], doc["arrays_sha256"], doc["state_sha256"]
        state_json = doc["state"]
        saved_config = doc.get("config")
    except KeyError as err:
        raise _refuse(JSON_FILE, json_path, f"lacks {err.args[0]!r}; it is damaged") from None
    if saved_hash != config_hash(config):
        changed = config_differences(saved_config, config) if isinstance(saved_config, dict) else []
        what = "; changed: " + ", ".join(changed) if changed else ""
        raise _refuse(
            JSON_FILE,
            json_path,
            "was made with another config: config.json no longer "
            f"matches the checkpoint (config hash differs){what}; restore config.json or "
            "start a new run",
        )
    if not isinstance(state_json, dict) or sha256_text(canonical_json(state_json)) != state_hash:
        raise _refuse(JSON_FILE, json_path, "fails its checksum: the saved state is damaged")
    arrays_path = directory / ARRAYS_FILE
    blob = _read(arrays_path, ARRAYS_FILE) if arrays_path.exists() else None
    if blob is None or hashlib.sha256(blob).hexdigest() != arrays_hash:
        # Killed between committing checkpoint.json and renaming the arrays?
        nxt = directory / NEXT_ARRAYS_FILE
        candidate = _read(nxt, NEXT_ARRAYS_FILE) if nxt.exists() else None
        if candidate is not None and hashlib.sha256(candidate).hexdigest() == arrays_hash:
            blob = candidate
        elif blob is None:
            raise _refuse(ARRAYS_FILE, arrays_path, "is missing; the checkpoint is incomplete")
        else:
            raise _refuse(
                ARRAYS_FILE, arrays_path, "fails its SHA-256 checksum: the genome arrays are damaged"
            )
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except Exception as err:  # a zip the checksum vouched for, yet unreadable
        raise _refuse(ARRAYS_FILE, arrays_path, f"cannot be read: {err}") from None
    decoder = _Decoder(arrays)
    try:
        values = {name: decoder.decode(value) for name, value in state_json.items()}
    except _Damaged as err:
        raise _refuse(JSON_FILE, json_path, f"{err}; it is damaged") from None
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise _refuse(
            JSON_FILE, json_path, f"cannot be decoded ({type(err).__name__}: {err}); it is damaged"
        ) from None
    return _build_state(state_cls, values, json_path)


def _build_state(state_cls, values: dict, json_path: Path):
    fields = {f.name: f for f in dataclasses.fields(state_cls)}
    # What an older version saved and this one no longer needs still loads.
    for name in getattr(state_cls, "RETIRED_FIELDS", ()):
        values.pop(name, None)
    unknown = [name for name in values if name not in fields]
    if unknown:
        raise _refuse(
            JSON_FILE,
            json_path,
            f"holds state fields {unknown} that this evomod does not know; it was made by another version",
        )
    missing = [
        name
        for name, f in fields.items()
        if name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise _refuse(JSON_FILE, json_path, f"lacks state fields {missing}; it was made by another version")
    return state_cls(**values)
