"""The `newsletter` command. Thin: parse options, build the Project, call one
library function, format the result. Errors are printed here and nowhere else."""

from __future__ import annotations

import os
from typing import Any

import typer
from typer._click.core import Context
from typer._click.exceptions import ClickException  # typer carries its own copy of click
from typer.core import TyperGroup

from newsletter import __version__
from newsletter.errors import NewsletterError, UsageError


class _Commands(TyperGroup):
    """Catches every error once: `error: <one line>` on stderr, exit 1 (2 for usage)."""

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)  # in the order they are added, as in the README

    def resolve_command(self, ctx: Context, args: list[str]) -> Any:
        found = super().resolve_command(ctx, args)
        twice = _given_twice(ctx, found[1], found[2]) if found[1] is not None else None
        if twice is not None:
            option, values = twice
            shown = f" ({', '.join(repr(v) for v in values)})" if values else ""
            raise UsageError(f"{option} is given {len(values) or 'several'} times{shown}: "
                             "give it once")  # fmt: skip
        return found

    def invoke(self, ctx: Context) -> Any:
        debug = bool(ctx.params.get("debug")) or bool(os.environ.get("NEWSLETTER_DEBUG"))
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, ClickException):
            raise
        except UsageError as exc:
            _fail(str(exc), 2)
        except NewsletterError as exc:
            _fail(str(exc), 1)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:  # `... | head`: the reader has what it wanted
            _quiet_stdout()
            raise typer.Exit(0) from None
        except Exception as exc:
            if debug:
                raise
            _fail(
                f"unexpected {type(exc).__name__}: {exc} (this is a bug; "
                "run again with --debug to see where, and report it)",
                1,
            )


def _given_twice(ctx: Context, command: Any, args: list[str]) -> tuple[str, list[str]] | None:
    """An option that takes one value given more than once, with its values: click
    keeps the last one silently (`--where a --where b` would select b's). Found by
    the command's own parser (so `--id=a`, `-pDIR`, `--` and a value that looks like
    an option read as click reads them), without running anything; what it cannot
    parse is left to click to report."""
    inner = Context(command, parent=ctx, info_name=command.name, resilient_parsing=True)
    parser = command.make_parser(inner)
    single = {p for p in command.params
              if p.param_type_name == "option" and not p.is_flag and not p.multiple}  # fmt: skip
    values: dict[Any, list[str]] = {}
    for option in {*getattr(parser, "_long_opt", {}).values(),
                   *getattr(parser, "_short_opt", {}).values()}:  # fmt: skip
        if option.obj in single:
            option.process = _recording(option.process, values.setdefault(option.obj, []))
    _, rest, order = parser.parse_args(list(args))
    for param in order:
        if param in single and order.count(param) > 1:
            return param.opts[0], values.get(param, [])
    if hasattr(command, "commands") and rest:  # a group: then the options of its command
        found = command.commands.get(rest[0])
        return _given_twice(inner, found, rest[1:]) if found is not None else None
    return None


def _recording(process: Any, into: list[str]) -> Any:
    def record(value: Any, state: Any) -> None:
        into.append(value)
        process(value, state)

    return record


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so flushing it at exit raises nothing."""
    import sys

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    raise typer.Exit(code)


app = typer.Typer(
    cls=_Commands,
    name="newsletter",
    help="Publish a newsletter from files: articles in, email out.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion: typer's own
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"newsletter {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of unexpected errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Publish a newsletter from files: articles in, inline-styled email out, sent
    to subscriber lists through the outbox, SendGrid or SMTP."""


def _register() -> None:
    from newsletter.cli import (
        archive,
        bounces,
        check,
        cron,
        init,
        preview,
        report,
        schedule,
        send,
        serve,
        state,
        status,
        subscribers,
    )

    # in the order a new user meets them: make a project, look at an issue, send it
    app.command("init", epilog=_examples("init"))(init.init)
    app.command("preview", epilog=_examples("preview"))(preview.preview)
    app.command("check", epilog=_examples("check"))(check.check)
    app.command("send", epilog=_examples("send"))(send.send)
    app.command("schedule", epilog=_examples("schedule"))(schedule.schedule)
    app.command("cron", epilog=_examples("cron"))(cron.cron)
    app.command("status", epilog=_examples("status"))(status.status)
    app.command("report", epilog=_examples("report"))(report.report)
    app.add_typer(subscribers.app, name="subscribers", epilog=_examples("subscribers"))
    app.command("serve", epilog=_examples("serve"))(serve.serve)
    app.add_typer(state.app, name="state", epilog=_examples("state"))
    app.add_typer(bounces.app, name="bounces", epilog=_examples("bounces"))
    app.add_typer(archive.app, name="archive", epilog=_examples("archive"))


EXAMPLES = {
    "init": ["newsletter init my-letter",
             "newsletter init my-letter --name 'Field Notes' --from news@fieldnotes.example "
             "--postal-address '1 Quay Street, Bristol, UK' --site https://fieldnotes.example "
             "--git",
             "newsletter init my-letter --templates"],
    "preview": ["newsletter preview articles/welcome.md --output preview/",
                "newsletter preview articles/welcome.md --serve --open"],
    "check": ["newsletter check articles/welcome.md", "newsletter check articles/*.md --all"],
    "send": ["newsletter send articles/welcome.md --list main --dry-run",
             "newsletter send articles/welcome.md --test you@example.com",
             "newsletter send articles/welcome.md --list main",
             "newsletter send articles/welcome.md --list main --list extra --exclude-list old "
             "--where 'plan == \"paid\"' --dry-run"],
    "schedule": ["newsletter schedule articles/welcome.md --list main --at 2026-12-07T09:00",
                 "newsletter schedule --list-queued", "newsletter schedule --cancel welcome"],
    "cron": ["newsletter cron   # every few minutes, from a timer (README, Scheduling)"],
    "status": ["newsletter status", "newsletter status welcome --recipients"],
    "report": ["newsletter report welcome", "newsletter report welcome --csv > welcome.csv"],
    "subscribers": ["newsletter subscribers list",
                    "newsletter subscribers add main ada@example.com --name Ada",
                    "newsletter subscribers import main export.csv --from mailchimp",
                    "newsletter subscribers pull main && git commit -m 'New signups' "
                    "subscribers/main.csv"],
    "serve": ["newsletter serve --host 0.0.0.0 --port 8025",
              "newsletter serve --snippet main > signup-form.html"],
    "state": ["newsletter state export state.jsonl.gz", "newsletter state import state.jsonl.gz"],
    "bounces": ["newsletter bounces read ~/Mail/bounces/",
                "newsletter bounces read bounces.mbox --json"],
    "archive": ["newsletter archive build", "newsletter archive build --output site/"],
}  # fmt: skip


def _examples(name: str) -> str:
    """A command's examples under its help, as written (\\b keeps click from
    re-wrapping them)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])


def _plain_arguments() -> None:
    """Arguments in help as the README writes them: `ARTICLE...` and `[ISSUE]`, not
    typer's `{ARTICLE}...` and `ARTICLE <list[Path]>` (its type labels are for Python
    readers; ours are in the help text)."""
    from typer.core import TyperArgument

    def usage_name(self: TyperArgument) -> str:
        name = self.display_name_raw
        name = name if self.required else f"[{name}]"
        return name + ("..." if self.nargs != 1 else "")

    def rich_name(self: TyperArgument) -> str:
        return self.display_name_raw + ("..." if self.nargs != 1 else "")

    TyperArgument._usage_display_name = usage_name  # type: ignore[method-assign]
    TyperArgument._rich_display_name = rich_name  # type: ignore[method-assign]
    TyperArgument.display_type_rich = lambda self, ctx: None  # type: ignore[method-assign]


_plain_arguments()
_register()


def main() -> None:
    import gc

    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    app(prog_name="newsletter")
