"""`newsletter init`: create a new newsletter project folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def init(
    folder: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="The folder to create (or an empty one).", file_okay=False
        ),
    ],
    templates: Annotated[
        bool,
        typer.Option(
            "--templates", help="Also copy the default templates into templates/ to edit."
        ),
    ] = False,
) -> None:
    """Create a new newsletter project: settings, a sample article and list, templates/."""
    from newsletter.project import create_project

    created = create_project(folder, with_templates=templates)
    typer.echo(f"Created a newsletter project in {folder} ({len(created)} files).")
    typer.echo(f"Next: cd {folder} && newsletter preview articles/welcome.md --output preview")
