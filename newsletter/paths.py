"""Where the package keeps its files, and how paths are shown to people."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_TEMPLATES = PACKAGE_DIR / "templates"  # the default email templates
SKELETON = PACKAGE_DIR / "skeleton"  # what `newsletter init` copies


def shown(path: Path | str) -> str:
    """Relative to the current folder when inside it, else as given."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)
