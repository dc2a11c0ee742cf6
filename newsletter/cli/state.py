"""`newsletter state ...`: move the whole state between machines and engines
(export, import), and record which state the project sends from (adopt)."""

from __future__ import annotations

import contextlib
import gzip
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated

import typer

from newsletter.cli.common import JsonOption, ProjectOption, open_project

app = typer.Typer(
    help="Move the state between machines and engines; say which state the project uses.",
    no_args_is_help=True,
)

FileArgument = Annotated[
    Path,
    typer.Argument(
        metavar="FILE",
        help="The export: JSON lines, gzip-compressed when FILE ends in .gz; - for "
        "standard output or input.",
        show_default=False,
        dir_okay=False,
    ),
]
STDIO = Path("-")


@app.command("export")
def export(
    file: FileArgument, as_json: JsonOption = False, project: ProjectOption = Path(".")
) -> None:
    """Write all of the state (issues, recipients, schedule, suppressions, the signing
    secret) to FILE, as one moment of it; FILE is made readable by you alone."""
    from newsletter.errors import StateError
    from newsletter.files import atomic, shown
    from newsletter.state.transfer import export_lines

    with (
        open_project(project) as proj,
        contextlib.closing(export_lines(proj.state.engine, proj.clock.now())) as lines,
    ):  # closed (its transaction ended) before the state is, even on an error
        if file == STDIO:
            counts = _write(lines, sys.stdout.buffer, compress=False)
        else:
            try:
                with atomic(file, mode=0o600) as handle:  # it holds the secret and addresses
                    counts = _write(lines, handle, compress=file.name.endswith(".gz"))
            except OSError as exc:
                raise StateError(
                    f"cannot write the export: {exc.strerror}", file=shown(file)
                ) from None
    if as_json:
        typer.echo(json.dumps({"file": str(file), "rows": counts}, indent=2), err=file == STDIO)
        return
    what = ", ".join(_many(counts.get(table, 0), word) for table, word in (
        ("issues", "issue"), ("deliveries", "recipient"), ("schedule", "schedule entry"),
        ("suppressions", "suppression")))  # fmt: skip
    where = "standard output" if file == STDIO else str(file)
    typer.echo(f"Exported the state ({what}) to {where}.", err=file == STDIO)


def _many(count: int, word: str) -> str:
    plural = word[:-1] + "ies" if word.endswith("y") else word + "s"
    return f"{count:,} {word if count == 1 else plural}"


def _write(lines: Iterator[str], binary: IO[bytes], compress: bool) -> dict[str, int]:
    """The lines written; returns the end line's counts."""
    sink = gzip.GzipFile(fileobj=binary, mode="wb", mtime=0) if compress else None
    write = (sink or binary).write
    last = ""
    for line in lines:
        write(line.encode("utf-8") + b"\n")
        last = line
    if sink is not None:
        sink.close()  # the gzip trailer; the file itself is the caller's
    binary.flush()
    return dict(json.loads(last)["end"])


@app.command("import")
def import_(
    file: FileArgument, as_json: JsonOption = False, project: ProjectOption = Path(".")
) -> None:
    """Merge an export into this project's state, all of it or nothing: what is here
    already is kept, nothing is made twice; an issue in both must be the same, sent as
    far. Into an empty state, it makes that state the exported one."""
    from newsletter.state.transfer import import_lines

    with open_project(project) as proj:
        proj.quiet_state_warning()
        where = "standard input" if file == STDIO else proj.shown(file)
        with _reader(file, where) as lines:
            result = import_lines(
                proj.state.engine,
                lines,
                where,
                proj.clock.now(),
                hashing=lambda: proj.address_hash,
            )
        proj.after_import(result.state_id)
    if as_json:
        typer.echo(json.dumps(result.data(), indent=2))
        return
    parts = []
    for kind, word in (("issues", "issue"), ("suppressions", "suppression"),
                       ("schedule", "schedule entry")):  # fmt: skip
        new, already = result.new.get(kind, 0), result.already.get(kind, 0)
        here = f" ({already:,} here already)" if already else ""
        parts.append(_many(new, f"new {word}") + here)
    secret = {"taken": "; the signing secret taken", "replaced": "; the signing secret taken"}
    adopted = "; this state is now that state" if result.adopted else ""
    typer.echo(f"Imported {where} (state {result.state_id}): {', '.join(parts)}"
               f"{secret.get(result.secret, '')}{adopted}.")  # fmt: skip


class _reader:
    """The export's lines, numbered, from a file (gzip or not) or standard input."""

    def __init__(self, file: Path, where: str) -> None:
        self.file, self.where = file, where
        self.handle: IO[bytes] | None = None
        self.opened: IO[bytes] | None = None

    def __enter__(self) -> Iterator[tuple[int, str]]:
        from newsletter.errors import StateError
        from newsletter.files import open_binary

        opened = (
            sys.stdin.buffer
            if self.file == STDIO
            else open_binary(self.file, self.where, StateError)
        )
        self.opened = self.handle = opened
        if opened.peek(2)[:2] == b"\x1f\x8b":  # type: ignore[union-attr]
            self.handle = gzip.GzipFile(fileobj=opened, mode="rb")  # type: ignore[assignment]
        return self._lines()

    def _lines(self) -> Iterator[tuple[int, str]]:
        import zlib

        from newsletter.errors import StateError

        assert self.handle is not None
        try:
            for number, raw in enumerate(self.handle, 1):
                try:
                    yield number, raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise StateError(
                        "not UTF-8; nothing was imported", file=self.where, line=number
                    ) from None
        except (OSError, EOFError, zlib.error) as exc:
            raise StateError(
                f"cannot read the export ({exc}); nothing was imported", file=self.where
            ) from None

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None and self.file != STDIO:
            self.handle.close()
            if self.opened is not None:
                self.opened.close()


@app.command("adopt")
def adopt(project: ProjectOption = Path(".")) -> None:
    """Record the state this checkout reaches as the project's ([state] id in
    newsletter.toml): to start a new state on purpose, or to move to another one."""
    with open_project(project) as proj:
        proj.quiet_state_warning()
        state_id = proj.state.identity.ensure(proj.clock.now())
        if proj.settings.state.id == state_id:
            typer.echo(f"the project sends from this state already ({state_id})")
            return
        if not proj.record_state_id(state_id):
            raise typer.Exit(1)
