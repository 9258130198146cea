"""The errors users see: one line naming what is wrong, and nothing else.

``evomod.cli.main`` prints an ``EvomodError`` as ``evomod CMD: error: ...``
on one line and exits with 2; anything else is a bug and keeps its
traceback. Both kinds read ``what: problem (allowed: a, b, c)``:

- ``ConfigError``: a config field, a command-line argument or a field of a
  network's JSON has a value evomod refuses;
- ``FileError``: a file or directory evomod reads or writes is missing,
  unreadable, damaged (a corrupt checkpoint, a malformed best.json) or in
  the way (an ``--out`` that already holds something else).
"""


class EvomodError(Exception):
    """A failure the user can act on. ``field`` names what is wrong (a config
    field, an argument, a file), ``problem`` says how, ``allowed`` what would do."""

    def __init__(self, field: str, message: str, allowed=None):
        self.field = field
        self.problem = message
        self.allowed = allowed
        text = f"{field}: {message}"
        if allowed is not None:
            if isinstance(allowed, (list, tuple, set, frozenset)):
                allowed = ", ".join(repr(a) for a in allowed)
            text += f" (allowed: {allowed})"
        super().__init__(text)

    def __reduce__(self):
        # Rebuilt from its three parts (a worker process may send one back).
        return type(self), (self.field, self.problem, self.allowed)

    def renamed(self, field: str) -> "EvomodError":
        """The same error about ``field`` (e.g. a field placed in its file or table)."""
        return type(self)(field, self.problem, self.allowed)

    def reworded(self, problem: str) -> "EvomodError":
        """The same error about the same field, its problem said as ``problem``."""
        return type(self)(self.field, problem, self.allowed)


class ConfigError(EvomodError, ValueError):
    """Bad user input: names the field, what was given and what is allowed."""


class FileError(EvomodError):
    """A file or directory that is missing, unreadable, damaged or in the way."""
