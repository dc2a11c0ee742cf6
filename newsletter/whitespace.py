"""Whitespace clean-up that keeps Unicode intact.

`str.split()` also splits at U+00A0 (no-break space) and friends, which authors put
there on purpose; these helpers only touch ASCII whitespace.
"""

from __future__ import annotations

import re

_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")
_OTHER_SPACE = re.compile(r"[\t\n\r\f\v]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


def squash(text: str) -> str:
    """Runs of ASCII whitespace become one space; ends trimmed."""
    if "  " not in text and not _OTHER_SPACE.search(text):
        return text.strip(" ")
    return _ASCII_SPACE.sub(" ", text).strip(" ")


def header_text(text: str) -> str:
    """Text from a CSV cell or a template bound for a header: one line, no controls."""
    return squash(_CONTROLS.sub(" ", text))
