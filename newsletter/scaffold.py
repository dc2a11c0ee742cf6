"""A new project is a copy of the skeleton shipped in the package (the same files
as the sample project at the root of the repository)."""

from __future__ import annotations

import shutil
from pathlib import Path

from newsletter.errors import StateError, UsageError
from newsletter.paths import PACKAGE_TEMPLATES, SKELETON
from newsletter.settings import SETTINGS_FILE

TEMPLATE_FILES = ("email.html", "email.css", "email.txt", "subject.txt")


def create_project(folder: Path, with_templates: bool = False) -> list[Path]:
    """Copy the skeleton into `folder`; refuse to touch an existing project."""
    if (folder / SETTINGS_FILE).exists():
        raise UsageError(f"{folder} already holds a newsletter project ({SETTINGS_FILE})")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise UsageError(f"{folder} is not empty; give a new or empty folder")
    created = []
    try:
        for source in sorted(SKELETON.rglob("*")):
            if source.is_file() and "__pycache__" not in source.parts:
                target = folder / source.relative_to(SKELETON)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
                created.append(target)
        if with_templates:
            for name in TEMPLATE_FILES:
                target = folder / "templates" / name
                shutil.copyfile(PACKAGE_TEMPLATES / name, target)
                created.append(target)
    except OSError as exc:
        raise StateError(
            f"cannot create the project: {exc.strerror}", where=str(exc.filename or folder)
        ) from None
    return created
