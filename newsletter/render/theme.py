"""The [theme] settings as the templates use them: colours for both schemes and
font stacks by name."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from newsletter.colours import readable_on
from newsletter.settings import FONTS, ThemeSettings

# the lightest background a link sits on in dark mode (email.css: the contents box
# and code; the card itself is darker, #1b1e24)
DARK_PANEL = "#262a31"


@dataclass(frozen=True)
class ThemeView:
    """Every value is a fixed choice or a checked #rrggbb, so it goes into the CSS as
    it is (Markup: a font stack's quotes must not be escaped)."""

    accent: str  # links and buttons on the light card
    accent_dark: str  # links on the dark card: the accent made light enough to read
    body_font: str
    heading_font: str
    header: str  # "left" or "center"

    @classmethod
    def of(cls, theme: ThemeSettings) -> ThemeView:
        return cls(
            accent=Markup(theme.accent),
            accent_dark=Markup(readable_on(theme.accent, DARK_PANEL)),
            body_font=Markup(FONTS[theme.body_font]),
            heading_font=Markup(FONTS[theme.heading_font]),
            header=theme.header,
        )
