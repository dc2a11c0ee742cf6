"""How paths are shown to people: relative to where they are, when inside it."""

from __future__ import annotations

from pathlib import Path


def shown(path: Path | str) -> str:
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)
