"""`preview --output DIR`: one subscriber's copy written as files."""

from __future__ import annotations

from pathlib import Path

from newsletter.errors import StateError
from newsletter.message import MessageMaker
from newsletter.preview import Sample
from newsletter.project import Project


def write_preview(sample: Sample, folder: Path, project: Project) -> list[Path]:
    """`<issue>.html`, `<issue>.txt` and the whole message as `<issue>.eml`."""
    stem = folder / sample.rendered.id
    maker = MessageMaker(sample.rendered, sample.envelope, project.clock.now())
    _, message = maker.make(sample.recipient)
    files = {
        stem.with_suffix(".html"): sample.copy.html.encode(),
        stem.with_suffix(".txt"): sample.copy.text.encode(),
        stem.with_suffix(".eml"): message,
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for path, data in files.items():
            path.write_bytes(data)
    except OSError as exc:
        raise StateError(
            f"cannot write the preview: {exc.strerror}", file=str(exc.filename or folder)
        ) from None
    return list(files)
