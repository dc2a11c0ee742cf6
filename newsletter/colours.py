"""Colours as the email uses them: #rrggbb text, WCAG 2 contrast, and a lighter or
darker shade of an accent that still reads on a given background."""

from __future__ import annotations

import re

HEX = re.compile(r"#[0-9a-fA-F]{6}")
WHITE = "#ffffff"


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def hex_colour(red: float, green: float, blue: float) -> str:
    return "#" + "".join(f"{round(max(0, min(255, c))):02x}" for c in (red, green, blue))


def luminance(colour: str) -> float:
    """WCAG 2's relative luminance."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2's contrast ratio, 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def readable_on(colour: str, background: str, ratio: float = 4.5) -> str:
    """`colour`, mixed toward white (on a dark background) or black (on a light one)
    in small steps until it reaches `ratio` against `background`."""
    target = (255, 255, 255) if luminance(background) < 0.5 else (0, 0, 0)
    r, g, b = rgb(colour)
    for step in range(21):
        t = step / 20
        mixed = hex_colour(*(c + (d - c) * t for c, d in zip((r, g, b), target, strict=True)))
        if contrast(mixed, background) >= ratio:
            return mixed
    return hex_colour(*target)
