"""The one error type users see for bad input."""


class ConfigError(ValueError):
    """Bad user input: names the field, what was given and what is allowed."""

    def __init__(self, field: str, message: str, allowed=None):
        self.field = field
        self.allowed = allowed
        text = f"{field}: {message}"
        if allowed is not None:
            if isinstance(allowed, (list, tuple, set, frozenset)):
                allowed = ", ".join(repr(a) for a in allowed)
            text += f" (allowed: {allowed})"
        super().__init__(text)
