"""Typography: the quotation marks each language writes, and one set of typographer's
rules for every article, so an issue has one quote style whatever its files hold.

The rules are markdown-it's: straight quotes become the language's curly ones (its
smartquotes rule, which also turns the apostrophe in don't into ’) and `...`, `--`
and `---` become …, – and —. Of markdown-it's "replacements" only those three are
kept: it would also turn the (c) of a list "(a), (b), (c)" into ©, and `,,` or
`!!!!` into what the editor did not write.

Code and URLs are never touched: markdown-it leaves code spans and blocks alone, and
`typography_plugin` hides the text of a link that is its own URL from both rules.
`typeset` applies the same rules to text that is not Markdown (a .txt article's lines,
a title from the front matter), leaving `code` and URLs (found by linkify-it, as the
Markdown reader finds them) exactly as written. Curly quotes already there stay.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_core import StateCore
    from markdown_it.token import Token

Quotes = tuple[str, str, str, str]  # double opening, double closing, single ones

# CLDR's quotation marks (its delimiters: quotationStart/End, alternateQuotation...);
# French with the no-break space French typography puts inside its guillemets.
QUOTES: dict[str, Quotes] = {
    "en": ("\u201c", "\u201d", "\u2018", "\u2019"),  # “ ” ‘ ’
    "de": ("\u201e", "\u201c", "\u201a", "\u2018"),  # „ “ ‚ ‘
    "fr": ("\u00ab\u00a0", "\u00a0\u00bb", "\u2039\u00a0", "\u00a0\u203a"),  # « » ‹ ›
    "es": ("\u00ab", "\u00bb", "\u201c", "\u201d"),  # « » “ ”
    "it": ("\u00ab", "\u00bb", "\u201c", "\u201d"),  # « » “ ”
    "pt": ("\u201c", "\u201d", "\u2018", "\u2019"),  # “ ” ‘ ’ (Brazil's)
    "nl": ("\u2018", "\u2019", "\u201c", "\u201d"),  # ‘ ’ “ ”
    "sv": ("\u201d", "\u201d", "\u2019", "\u2019"),  # ” ” ’ ’
    "pl": ("\u201e", "\u201d", "\u00ab", "\u00bb"),  # „ ” « »
    "ru": ("\u00ab", "\u00bb", "\u201e", "\u201c"),  # « » „ “
    "ja": ("\u300c", "\u300d", "\u300e", "\u300f"),  # 「 」 『 』
    "zh": ("\u201c", "\u201d", "\u2018", "\u2019"),  # “ ” ‘ ’ (simplified)
    "ar": ("\u201d", "\u201c", "\u2019", "\u2018"),  # ” “ ’ ‘ (read right to left)
    "fa": ("\u00ab", "\u00bb", "\u2039", "\u203a"),  # « » ‹ ›
}
# the few regions CLDR gives marks of their own
REGIONAL: dict[str, Quotes] = {
    "de-ch": ("\u00ab", "\u00bb", "\u2039", "\u203a"),  # « » ‹ ›
    "pt-pt": QUOTES["es"],  # « » “ ”
    "zh-hant": QUOTES["ja"],  # 「 」 『 』
    "zh-tw": QUOTES["ja"],
    "zh-hk": QUOTES["ja"],
}


def quotes(language_tag: str) -> Quotes:
    """The quotation marks of a language (by its primary subtag: pt-BR is pt);
    English's for a language not in the table."""
    tag = language_tag.lower().replace("_", "-")
    for known in REGIONAL:
        if tag == known or tag.startswith(known + "-"):
            return REGIONAL[known]
    return QUOTES.get(tag.split("-")[0], QUOTES["en"])


# --- ellipsis and dashes (the part of markdown-it's "replacements" we keep) ---

_ELLIPSIS = re.compile(r"(?<!\.)\.\.\.(?!\.)")  # exactly three: ../path is left alone
_EM_DASH = re.compile(r"(?<!-)---(?!-)")
_SPACED_EN_DASH = re.compile(r"(?:(?<=\s)|^)--(?=\s|$)", re.MULTILINE)  # a -- b
_JOINED_EN_DASH = re.compile(r"(?<=[^-\s])--(?=[^-\s])")  # 10--20; never --force
_MARKS = re.compile(r"\.\.\.|--")


def marks(text: str) -> str:
    """`...` as …, `---` as —, `--` as – (between words or spaced, never the two
    dashes that start a command-line flag)."""
    if not _MARKS.search(text):
        return text
    text = _ELLIPSIS.sub("\u2026", text)
    text = _EM_DASH.sub("\u2014", text)
    text = _SPACED_EN_DASH.sub("\u2013", text)
    return _JOINED_EN_DASH.sub("\u2013", text)


# --- inside markdown-it (the Markdown body) ---


def typography_plugin(md: MarkdownIt, language: str = "en") -> None:
    """markdown-it's smartquotes in `language`'s quotes, with our marks, neither
    touching a URL: a link that shows its own address (a bare URL, `<https://...>`,
    `[https://x](https://x)`) keeps its text as written. Images' alt text gets the
    same rules (markdown-it leaves it out)."""
    md.options["typographer"] = True
    md.options["quotes"] = quotes(language)
    md.enable("smartquotes")
    md.core.ruler.before("smartquotes", "keep_urls", _keep_urls)
    md.core.ruler.after("smartquotes", "marks", _marks_and_alts)


_URL_TEXT = re.compile(r"(?:https?://|mailto:|www\.)\S+", re.IGNORECASE)


def _keep_urls(state: StateCore) -> None:
    """The text of a link showing an address becomes `text_special`, which neither
    rule touches (markdown-it's own text_join rule turns it back into text after)."""
    for token in state.tokens:
        if token.type != "inline":
            continue
        href: str | None = None
        auto = False
        for child in token.children or []:
            if child.type == "link_open":
                href, auto = str(child.attrGet("href") or ""), child.markup in _AUTO
            elif child.type == "link_close":
                href = None
            elif child.type == "text" and href is not None and (auto or _is_url(child, href)):
                child.type = "text_special"


_AUTO = ("linkify", "autolink")


def _is_url(token: Token, href: str) -> bool:
    """A link's text that is its address, or reads as one: an editor's copy of it."""
    return token.content == href or _URL_TEXT.fullmatch(token.content) is not None


def _marks_and_alts(state: StateCore) -> None:
    """Our marks on the text, and both rules on images' alt text (markdown-it's
    smartquotes does not go into it)."""
    from markdown_it.rules_core.smartquotes import process_inlines

    for token in state.tokens:
        if token.type != "inline":
            continue
        for child in token.children or []:
            if child.type == "image" and child.children:
                process_inlines(child.children, state)
                _mark(child.children)
        _mark(token.children or [])


def _mark(tokens: list[Token]) -> None:
    for child in tokens:
        if child.type == "text":
            child.content = marks(child.content)


# --- plain text (.txt articles, front matter) ---

_WORK = re.compile(r"['\"]|\.\.\.|--")
_CODE = re.compile(r"`[^`\n]+`")


def typeset(text: str, language: str) -> str:
    """`text` with the Markdown body's rules in `language`'s quotes; curly quotes,
    `code` and URLs stay exactly as written."""
    if not _WORK.search(text):
        return text
    from markdown_it.rules_core.smartquotes import process_inlines
    from markdown_it.token import Token

    tokens: list[Token] = []
    done = 0
    for start, end in _kept(text):
        tokens.append(Token("text", "", 0, content=text[done:start]))
        tokens.append(Token("text_special", "", 0, content=text[start:end]))  # untouched
        done = end
    tokens.append(Token("text", "", 0, content=text[done:]))
    process_inlines(tokens, _state(quotes(language)))
    _mark(tokens)
    return "".join(token.content for token in tokens)


def _kept(text: str) -> list[tuple[int, int]]:
    """Where `code` and URLs are, in order, not overlapping."""
    found = [(m.start(), m.end()) for m in _CODE.finditer(text)]
    linkify = _linkify()
    if linkify.pretest(text):  # cheap: most paragraphs hold no address at all
        found += [(m.index, m.last_index) for m in linkify.match(text) or []]
    kept: list[tuple[int, int]] = []
    for start, end in sorted(found):
        if kept and start < kept[-1][1]:
            kept[-1] = (kept[-1][0], max(end, kept[-1][1]))
        else:
            kept.append((start, end))
    return kept


_LOCAL = threading.local()


def _linkify() -> Any:
    """linkify-it, one a thread: its `match` keeps state between its steps."""
    if not hasattr(_LOCAL, "linkify"):
        from linkify_it import LinkifyIt  # type: ignore[import-untyped]

        _LOCAL.linkify = LinkifyIt()
    return _LOCAL.linkify


@cache
def _state(marks_of: Quotes) -> StateCore:
    """What markdown-it's smartquotes reads its quotes from."""
    from markdown_it import MarkdownIt
    from markdown_it.rules_core import StateCore

    return StateCore("", MarkdownIt("zero", {"typographer": True, "quotes": marks_of}), {})


__all__ = ["QUOTES", "Quotes", "marks", "quotes", "typeset", "typography_plugin"]
