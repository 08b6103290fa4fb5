"""User-facing errors: the CLI prints them as one line and exits non-zero, never a traceback."""

from __future__ import annotations


class HybridizeError(Exception):
    """A problem the user can fix; ``str(exc)`` is the whole message, one line."""

    exit_code: int = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
