"""CSS inlining with premailer, configured against its traps (shared notes)."""

from __future__ import annotations

import logging


def inline_css(html: str) -> str:
    """Inline every rule into style attributes; keep @media rules (with their
    !important) in a <style> block; never fetch anything; no cssutils noise."""
    import premailer

    return premailer.Premailer(
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
