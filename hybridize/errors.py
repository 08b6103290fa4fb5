"""User-facing errors: the CLI prints them as one line and exits non-zero, never a traceback."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class HybridizeError(Exception):
    """A problem the user can fix; ``str(exc)`` is the whole message, one line."""

    exit_code: int = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        # One line whatever it quotes: a newline or escape sequence from a path or a plan is shown escaped.
        message = _CONTROL.sub(lambda m: repr(m.group())[1:-1], message)
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
