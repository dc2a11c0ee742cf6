"""Text: whitespace clean-up that keeps Unicode intact, language tags and the
direction text is written in.

`str.split()` also splits at U+00A0 (no-break space) and friends, which authors put
there on purpose; these helpers only touch ASCII whitespace.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")
_OTHER_SPACE = re.compile(r"[\t\n\r\f\v]")
# C0 and C1 controls and the Unicode line and paragraph separators: str.splitlines()
# breaks at U+0085, U+2028 and U+2029 as at CR and LF, so a header must hold none
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def squash(text: str) -> str:
    """Runs of ASCII whitespace become one space; ends trimmed."""
    if "  " not in text and not _OTHER_SPACE.search(text):
        return text.strip(" ")
    return _ASCII_SPACE.sub(" ", text).strip(" ")


def header_text(text: str) -> str:
    """Text from a CSV cell or a template bound for a header: one line, no controls
    (a zero-width joiner, which emoji need, is not one)."""
    return squash(text if text.isprintable() else _CONTROLS.sub(" ", text))


# --- languages and writing direction ---

LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")  # BCP 47, loosely
RTL_LANGUAGES = frozenset({"ar", "dv", "fa", "he", "ku", "ps", "sd", "ug", "ur", "yi"})


def language_direction(tag: str) -> Literal["ltr", "rtl"]:
    return "rtl" if tag.split("-")[0].lower() in RTL_LANGUAGES else "ltr"


def text_direction(text: str) -> Literal["ltr", "rtl"]:
    """`rtl` when strong right-to-left letters outnumber left-to-right ones."""
    rtl = ltr = 0
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            rtl += 1
        elif kind == "L":
            ltr += 1
    return "rtl" if rtl > ltr else "ltr"
