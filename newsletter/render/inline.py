"""CSS inlining with premailer, configured against its traps (shared notes)."""

from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from typing import Any

CACHED = 16  # style blocks whose parsed rules are kept (an issue has one or two)


def inline_css(html: str) -> str:
    """Inline every rule into style attributes; keep @media rules (with their
    !important) in a <style> block; never fetch anything; no cssutils noise."""
    return _premailer()(
        html,
        strip_important=False,
        allow_network=False,
        cssutils_logging_level=logging.CRITICAL,
        keep_style_tags=False,
        remove_classes=False,
        disable_validation=True,
        cache_css_parsing=True,
        # keep our width/height attributes: Outlook sizes images by them, and premailer
        # would turn `width:100%` into width="100%" and add an invalid height="auto"
        disable_basic_attributes=["width", "height"],
    ).transform()


@functools.cache
def _premailer() -> Any:
    """premailer's Premailer, remembering what it makes of a style block: its
    `cache_css_parsing` keeps cssutils' parse, but every email still turned each
    rule back into text and wrote its @media rules out again, more than half of an
    inlining. The same CSS gives the same rules, so they are made once a process."""
    import premailer

    rules: OrderedDict[tuple[str, int], tuple[list, list]] = OrderedDict()
    texts: OrderedDict[tuple[int, ...], tuple[tuple, str]] = OrderedDict()
    lock = threading.Lock()

    class Premailer(premailer.Premailer):
        def _parse_style_rules(self, css_body: str, ruleset_index: int) -> tuple[list, list]:
            key = (css_body, ruleset_index)
            with lock:
                found = rules.get(key)
            if found is None:
                found = super()._parse_style_rules(css_body, ruleset_index)
                with lock:
                    rules[key] = found
                    while len(rules) > CACHED:
                        rules.popitem(last=False)
            return list(found[0]), list(found[1])

        def _css_rules_to_string(self, leftover: list) -> str:
            key = tuple(map(id, leftover))
            with lock:
                kept, text = texts.get(key, ((), ""))
            # the same rule objects (held here, so their ids are not reused), or none
            same = len(kept) == len(leftover)
            if same and all(a is b for a, b in zip(kept, leftover, strict=True)):
                return text
            text = super()._css_rules_to_string(leftover)
            with lock:
                texts[key] = (tuple(leftover), text)
                while len(texts) > CACHED:
                    texts.popitem(last=False)
            return text

    return Premailer
