"""The words the templates write, in the email's language, and its dates and numbers.

Each language's words are a TOML file, templates/words/LANG.toml: the package's for
en, de, fr and es, and a project's own (in its templates folder) for any other
language or to change a word. A project's file wins key by key; a language with no
file (or a key missing from it) falls back to its base language (pt-BR -> pt), then
to English. Dates and numbers come from Babel's CLDR data for the language itself.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from markupsafe import Markup

from newsletter.errors import TemplateError
from newsletter.files import shown

FALLBACK = "en"
FOLDER = "words"


@dataclass(frozen=True)
class Words:
    """One language's words (with their fallbacks merged in) and its formats."""

    language: str  # the tag asked for, e.g. "pt-BR"
    found: str  # the catalog that has its own words: "pt-BR", "pt" or "en"
    table: dict[str, str]
    sources: dict[str, str] = field(default_factory=dict)  # key -> the file it came from
    english: tuple[str, ...] = ()  # keys in English for want of the language's own

    def text(self, key: str, **values: Any) -> str:
        """The word `key` with its {names} filled in, for the text part."""
        return self._filled(key, values, lambda word: word.format(**values))

    def html(self, key: str, **values: Any) -> Markup:
        """The same for the HTML part: the word is escaped, its values once each
        (a subscriber field stays a placeholder)."""
        return self._filled(key, values, lambda word: Markup.escape(word).format(**values))

    def _filled(self, key: str, values: dict[str, Any], fill: Any) -> Any:
        word = self._template(key)
        try:
            return fill(word)
        except (KeyError, IndexError, ValueError) as exc:
            names = ", ".join(f"{{{n}}}" for n in sorted(values)) or "no names"
            what = (f"{{{exc.args[0]}}} is not a name it is given" if isinstance(exc, KeyError)
                    else "write each name as {name}, a brace itself as {{ or }}")  # fmt: skip
            raise TemplateError(
                f"{key!r}: {what} (here it is given {names})", file=self.sources.get(key)
            ) from None

    def date(self, day: date) -> str:
        """A date as the language writes it in running text: December 7, 2026;
        7. Dezember 2026; 7 décembre 2026."""
        from babel.dates import format_date

        return str(format_date(day, format="long", locale=_locale(self.language)))

    def number(self, value: int) -> str:
        from babel.numbers import format_decimal

        return str(format_decimal(value, locale=_locale(self.language)))

    def _template(self, key: str) -> str:
        try:
            return self.table[key]
        except KeyError:
            raise TemplateError(
                f"no word {key!r} in templates/{FOLDER}/{self.found}.toml or the default "
                f"words; known: {', '.join(sorted(self.table))}"
            ) from None


def words(language: str, template_dirs: tuple[Path, ...], package: Path) -> Words:
    """The words for `language`, from the project's template folders and the package's
    (read again when one of their files changes: the live preview follows an edit)."""
    folders = (*template_dirs, package)
    return _words(language, folders, _stamp(language, folders))


def _stamp(language: str, folders: tuple[Path, ...]) -> tuple[tuple[int, int] | None, ...]:
    """When and how large each file the words may come from is (None: not there)."""
    found: list[tuple[int, int] | None] = []
    for tag in _chain(language):
        for folder in folders:
            try:
                stat = (folder / FOLDER / f"{tag}.toml").stat()
            except OSError:
                found.append(None)
            else:
                found.append((stat.st_mtime_ns, stat.st_size))
    return tuple(found)


@functools.lru_cache(maxsize=32)
def _words(language: str, folders: tuple[Path, ...], stamp: tuple = ()) -> Words:
    table: dict[str, str] = {}
    sources: dict[str, str] = {}
    own_keys: set[str] = set()
    found = FALLBACK
    for tag in reversed(_chain(language)):  # English first, the language itself last
        for folder in reversed(folders):  # the package's first, the project's last
            path = folder / FOLDER / f"{tag}.toml"
            own = _catalog(path)
            if own:
                table.update(own)
                sources.update(dict.fromkeys(own, shown(str(path))))
                found = tag
                if tag != FALLBACK:
                    own_keys.update(own)
    english = () if language.split("-", 1)[0] == FALLBACK else tuple(
        sorted(set(table) - own_keys))  # fmt: skip
    return Words(language, found, table, sources, english)


def _chain(language: str) -> list[str]:
    """pt-BR -> [pt-BR, pt, en]."""
    tags = [language]
    base = language.split("-", 1)[0]
    if base != language:
        tags.append(base)
    if FALLBACK not in tags:
        tags.append(FALLBACK)
    return tags


def _catalog(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise TemplateError(f"cannot be read as TOML: {exc}", file=shown(str(path))) from None
    bad = next((k for k, v in data.items() if not isinstance(v, str)), None)
    if bad is not None:
        raise TemplateError(f"{bad!r} must be text in quotes", file=shown(str(path)))
    return data


def english_words(language: str, template_dirs: tuple[Path, ...], package: Path) -> tuple[str, ...]:
    """The keys the email would say in English for want of the language's own words
    (all of them when the language has no words file at all)."""
    return words(language, template_dirs, package).english


@functools.lru_cache(maxsize=32)
def _locale(tag: str) -> Any:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(tag, sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        base = tag.split("-", 1)[0]
        try:
            return Locale.parse(base)
        except (UnknownLocaleError, ValueError, TypeError):
            return Locale.parse(FALLBACK)
