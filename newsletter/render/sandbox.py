"""Where a project's templates run. They come with its repository, so a pull request can
change them, and rendering one (`preview`, `check`, `send`, CI) must not run code,
read files outside the template folders, or hang:

- Jinja2's ImmutableSandboxedEnvironment: no attribute that starts with `_` (so no way
  from `cycler` to `os`), no changing lists or dicts, ranges of at most 100,000;
- no attribute or method of a path (an article's file is not the template's to read);
- `*` and `**` refuse results too large to be text in an email (a computation in C
  is not stopped by the time limit);
- `include` and `extends` find templates inside the template folders only, and never
  through a link that leads outside them;
- a render that runs longer than `time_limit` seconds is stopped.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path, PurePath
from types import FrameType
from typing import Any

import jinja2
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

from newsletter.files import is_regular_or_missing

MAX_BITS = 100_000  # the largest number `**` makes, in bits (about 30,000 digits)
MAX_REPEAT = 1_000_000  # the most items or characters `*` makes


class TooLarge(jinja2.TemplateRuntimeError):
    """An operation whose result would be too large for an email."""


class TooLong(jinja2.TemplateRuntimeError):
    """A render that ran past its time limit."""


class Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, PurePath) or isinstance(value, PurePath):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        whole = isinstance(left, int) and isinstance(right, int)
        if operator == "**" and whole and right > 0 and left.bit_length() * right > MAX_BITS:
            raise TooLarge(f"{left!r} ** {right} is too large")
        if operator == "*":
            count = right if isinstance(right, int) else left if isinstance(left, int) else 0
            other = left if count is right else right
            if isinstance(other, str | list | tuple) and count * len(other) > MAX_REPEAT:
                raise TooLarge(f"a repetition of {count:,} is too large")
        return super().call_binop(context, operator, left, right)


class TemplateLoader(jinja2.FileSystemLoader):
    """FileSystemLoader (which already refuses absolute paths and `..`), and refusing
    a template whose real file is outside the folder it was found in."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        for folder in self.searchpath:  # a pipe would block the render forever
            candidate = Path(folder, *split_template_path(template))
            if not is_regular_or_missing(candidate):
                raise jinja2.TemplateNotFound(
                    template, "not a regular file (a pipe, device or socket)"
                )
        source, filename, uptodate = super().get_source(environment, template)
        real = Path(os.path.realpath(filename))
        if not any(real.is_relative_to(os.path.realpath(folder)) for folder in self.searchpath):
            raise jinja2.TemplateNotFound(
                template, f"{template!r} leads outside the template folders"
            )
        return source, filename, uptodate


def environment(search: list[str]) -> Sandbox:
    return Sandbox(
        loader=TemplateLoader(search),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "htm", "xml")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def within(time_limit: float, render: Callable[[], str]) -> str:
    """`render()`, stopped with TooLong if it runs past `time_limit` seconds. The
    compiled templates' lines are traced (this thread only) to look at the clock:
    templates are small and render once per issue, so it costs little."""
    deadline = time.monotonic() + time_limit
    before = sys.gettrace()

    def line(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line" and time.monotonic() > deadline:
            raise TooLong(f"the template worked for more than {time_limit:g} s; it was stopped")
        return line

    def call(frame: FrameType, event: str, arg: Any) -> Any:
        filename = frame.f_code.co_filename
        return line if not filename.endswith(".py") and not filename.startswith("<") else None

    sys.settrace(call)
    try:
        return render()
    finally:
        sys.settrace(before)
