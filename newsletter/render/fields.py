"""Subscriber fields in Jinja filters and tests.

A field is a placeholder while the issue renders (its value comes per recipient),
so a filter or test given one would act on the placeholder: `|title` would do
nothing, `|int` give 0, `is defined` always be true. Every filter and test is
wrapped to refuse a field, except the few that leave it as it is, and `default`,
which gives the field a fallback: `{{ subscriber.name|default("there") }}`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from newsletter.render.placeholders import Token

PASS_THROUGH = frozenset({"e", "escape", "forceescape", "safe", "string"})
FALLBACK = frozenset({"default", "d"})


def guard(env: Any) -> Any:
    """Wrap the environment's filters and tests in place; returns the environment."""
    env.filters = {name: _filter(name, f) for name, f in env.filters.items()}
    env.tests = {name: _refusing(f) for name, f in env.tests.items()}
    return env


def _tokens(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Token]:
    return [a for a in (*args, *kwargs.values()) if isinstance(a, Token)]


def _filter(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    if name in PASS_THROUGH:
        return f
    if name in FALLBACK:

        @functools.wraps(f)
        def default(value: Any, default_value: Any = "", *args: Any, **kwargs: Any) -> Any:
            if isinstance(value, Token):
                return value._with_default(default_value)
            return f(value, default_value, *args, **kwargs)

        return default
    return _refusing(f)


def _refusing(f: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(f)
    def refusing(*args: Any, **kwargs: Any) -> Any:
        if tokens := _tokens(args, kwargs):
            tokens[0]._refuse()
        return f(*args, **kwargs)

    return refusing
