"""Languages and writing direction."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

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
