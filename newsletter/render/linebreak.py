"""Where a line of the text part may break, for scripts that do not put spaces
between words (Chinese, Japanese, Thai, Lao, Khmer, Myanmar): Unicode's line
breaking rules (UAX #14, with ICU's dictionaries for Thai and its neighbours),
and widths in terminal columns (a wide East Asian character takes two). Lines
in other scripts are wrapped at spaces by text.py, as before.

ICU comes from PyICU (the pyicu-wheels package). Where it cannot be loaded, a line
may break between two wide characters (and not before closing punctuation), which
is what UAX #14 allows for Chinese and Japanese; Thai then keeps its long lines.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import cache
from typing import Any

# scripts written without spaces between words: the wide East Asian ranges, and the
# South-East Asian scripts UAX #14 gives to a dictionary (class SA)
_NO_SPACES = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3"
    "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\U00020000-\U0003fffd]"
)
_URL = re.compile(r"https?://\S+")
_CLOSING = set("、。，．・：；？！ー）」』】〕〉》”’,.:;?!)]}")  # never first on a line


def needs_rules(line: str) -> bool:
    """Whether spaces alone cannot say where `line` may break."""
    return _NO_SPACES.search(line) is not None


def display_width(text: str) -> int:
    """Columns a terminal gives `text`: two for wide East Asian characters, none for
    combining marks and format characters."""
    return sum(0 if unicodedata.combining(c) or unicodedata.category(c) == "Cf"
               else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)  # fmt: skip


def fill(line: str, width: int, first: str, rest: str) -> list[str]:
    """`line` in lines of at most `width` columns (indents included), broken only
    where the rules allow; a URL, or a piece wider than the line, stays whole."""
    lines: list[str] = []
    current, used = first, display_width(first)
    for piece in _pieces(line):
        word = piece.rstrip(" ")
        if current.strip() and used + display_width(word) > width:
            lines.append(current.rstrip())
            current, used = rest, display_width(rest)
            piece = piece.lstrip(" ")
            word = piece.rstrip(" ")
        current += piece
        used += display_width(piece)
    lines.append(current.rstrip())
    return lines


def last_break(line: str, limit: int) -> int:
    """The last place at or before `limit` where `line` may be cut without cutting a
    word (Unicode's rules: Thai and CJK included); 0 when there is none."""
    return max((b for b in _breaks(line[: limit + 1]) if b <= limit), default=0)


def _pieces(line: str) -> Iterator[str]:
    """The line cut at every break opportunity (each piece keeps its trailing
    spaces), none inside a URL."""
    urls = [(m.start(), m.end()) for m in _URL.finditer(line)]
    start = 0
    for end in [*_breaks(line), len(line)]:
        if end <= start or any(a < end < b for a, b in urls):
            continue
        yield line[start:end]
        start = end


def _breaks(line: str) -> list[int]:
    iterator = _icu_line_breaker()
    if iterator is None:
        return _wide_breaks(line)
    iterator.setText(line)
    return [int(b) for b in iterator]


@cache
def _icu_line_breaker() -> Any:
    try:
        import icu  # type: ignore[import-untyped]
    except ImportError:
        return None
    return icu.BreakIterator.createLineInstance(icu.Locale.getRoot())


def _wide_breaks(line: str) -> list[int]:
    """Without ICU: at spaces, and between two wide characters unless the second is
    closing punctuation (kinsoku)."""

    def wide(char: str) -> bool:
        return unicodedata.east_asian_width(char) in "WF"

    return [n for n in range(1, len(line))
            if (line[n - 1] == " " and line[n] != " ")
            or (wide(line[n - 1]) and wide(line[n]) and line[n] not in _CLOSING)]  # fmt: skip
