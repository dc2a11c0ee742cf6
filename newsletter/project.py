"""A Project: a newsletter folder, opened. The composition root: a command opens its
project once and gets from it, wired together, the settings, the state (opened on
first use, closed with the project), a transport of any kind (or a dry run of one),
the clock and the link signer; and the read and render stages with the project's
folders and settings. Tests open a project with their own clock or transport.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from zoneinfo import ZoneInfo

from newsletter.articles import Issue, read_issue
from newsletter.articles.issue import is_welcome_issue
from newsletter.clock import Clock, SystemClock
from newsletter.errors import ListError, LockHeld, SettingsError, StateError, UsageError
from newsletter.files import read_text, shown
from newsletter.message import Envelope
from newsletter.render import RenderedIssue, Utm, render_issue
from newsletter.render.issue_view import IssueFields
from newsletter.settings import LIST_NAME, SETTINGS_FILE, Settings, load_settings
from newsletter.signing import SECRET_BYTES, AddressHash, Signer
from newsletter.state import Database, is_postgres_url
from newsletter.state.ledger import Claimant
from newsletter.state.postgres import PgEngine
from newsletter.state.secrets import FORGET, UNSUBSCRIBE
from newsletter.transports import DryRun, Place, make_transport
from newsletter.transports.base import Transport

STATE_DIR = ".newsletter"
SECRET_FILE = "secret"
STATE_URL_ENV = "NEWSLETTER_STATE_URL"
STATE_DEFAULT = "sqlite:///.newsletter/state.db"

# (project, kind, dry_run) -> the transport a send uses: what a test may replace
TransportMaker = Callable[["Project", str, bool], Transport]


def default_transport(project: Project, kind: str, dry_run: bool) -> Transport:
    """The transport `kind` with its secret; for a dry run, one that needs none."""
    if dry_run:
        return DryRun(kind, project.settings, project.place)
    return make_transport(kind, project.settings, project.place)


class Project:
    def __init__(
        self,
        root: Path,
        settings: Settings,
        clock: Clock | None = None,
        transports: TransportMaker | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self._transports = transports or default_transport
        self.notice = notice or (lambda text: None)  # a warning or note for the user
        self._state: Database | None = None
        self._signer: Signer | None = None
        self._address_hash: AddressHash | None = None
        self._claimant: Claimant | None = None
        self._pool: dict[str, Database] | None = None
        self._warned = False  # that the state is not the recorded one, said once

    @classmethod
    def open(
        cls,
        root: Path,
        clock: Clock | None = None,
        transports: TransportMaker | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> Project:
        root = root.resolve()
        if not root.is_dir():
            raise SettingsError("no such project folder", file=str(root))
        return cls(root, load_settings(root / SETTINGS_FILE), clock, transports, notice)

    def close(self) -> None:
        self._claimant = None  # its lock goes with the connection
        if self._state is not None:
            state, self._state = self._state, None
            if self._pool is None or state not in self._pool.values():
                state.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    # --- what is wired here ---

    @property
    def state(self) -> Database:
        """The project's state, opened (and migrated) on first use; or taken from the
        `pool` it was given (see `share_states`)."""
        if self._state is None:
            url, setting = self.state_url
            pooled = self._pool.get(url) if self._pool is not None else None
            if pooled is not None and pooled.usable():
                self._state = pooled
                return self._state
            if pooled is not None and self._pool is not None:  # the server went away since
                del self._pool[url]
                with contextlib.suppress(Exception):
                    pooled.close()
            if is_postgres_url(url):
                self._state = Database(url, setting=setting)
                if self._pool is not None:
                    self._pool[url] = self._state
            else:  # a file is opened each time: one restored meanwhile is the one used
                path = self.root / url.removeprefix("sqlite:///")  # an absolute one stays
                self._state = Database(path, where=self.shown(path))
            self._warn_if_other(self._state)
        return self._state

    def _warn_if_other(self, state: Database) -> None:
        """Any command reaching a state other than the one newsletter.toml records
        says so (once): `status` in a fresh clone would otherwise show nothing sent."""
        recorded = self.settings.state.id
        if self._warned or not recorded:
            return
        found = state.identity.get()
        if found != recorded:
            self._warned = True
            message = self._other_state(recorded, found or "")
            self.notice(f"warning: {self.shown(self.settings.path)}: [state] id: {message}")

    def quiet_state_warning(self) -> None:
        """For commands that judge the state themselves (`serve`) or are moving it
        (`state import`, `state adopt`): no warning on opening it."""
        self._warned = True

    def share_states(self, pool: dict[str, Database]) -> None:
        """Keep a PostgreSQL state open in `pool` (by its URL) past this project, for
        the next one of the same thread (the web app's: a connection a thread, not a
        connection a request). The pool's owner closes them."""
        self._pool = pool

    @property
    def state_url(self) -> tuple[str, str]:
        """Where the state is, and what said so: $NEWSLETTER_STATE_URL (which keeps a
        password out of the project's files), else [state] url."""
        url = self.place.env.get(STATE_URL_ENV, "").strip()
        if not url:
            return self.settings.state.url, "[state] url"
        if not url.startswith("sqlite:///") and not is_postgres_url(url):
            raise SettingsError(
                "use sqlite:///PATH or postgresql://USER@HOST/DATABASE", setting=STATE_URL_ENV
            )
        return url, STATE_URL_ENV

    def envelope(self, list_name: str) -> Envelope:
        """What every message of a send to `list_name` shares besides its issue (the
        newsletter's settings, the list, [unsubscribe] mailto)."""
        return Envelope(
            self.settings.newsletter, list_name, mailto=self.settings.unsubscribe.mailto
        )

    def transport(self, kind: str | None = None, dry_run: bool = False) -> Transport:
        """The transport of `kind` (default: [transport] kind)."""
        return self._transports(self, kind or self.settings.transport.kind, dry_run)

    @property
    def place(self) -> Place:
        """What the transports need of the project besides its settings."""
        return Place(self.root, self.outbox_dir, self.clock, shown, os.environ)

    @property
    def signer(self) -> Signer:
        """Signs the unsubscribe links; its secret is read on first use."""
        if self._signer is None:
            self._signer = Signer(self._unsubscribe_secret(), self.settings.unsubscribe.url)
        return self._signer

    @property
    def address_hash(self) -> AddressHash:
        """The keyed hash of forgotten addresses, under the state's own secret (made
        on first use; outside any transaction of the caller's, then)."""
        if self._address_hash is None:
            state = self.state
            value = state.secrets.get(FORGET)
            if value is None:
                value = state.secrets.keep(
                    FORGET, secrets.token_hex(SECRET_BYTES), self.clock.now()
                )
            value = _checked_secret(value, state.engine.where, FORGET)
            self._address_hash = AddressHash(value.encode())
        return self._address_hash

    def read_issue(self, paths: Sequence[Path], given_id: str | None = None) -> Issue:
        """The articles given on the command line (several make a digest), as an issue."""
        if not paths:
            raise UsageError("name at least one article file")
        found = [self.find(path) for path in paths]
        language = self.settings.newsletter.language
        return read_issue(found, given_id, self.root / "articles", shown, language=language)

    def render(self, issue: Issue, overrides: IssueFields | None = None) -> RenderedIssue:
        """The issue rendered once, with the project's templates and settings;
        `overrides` are the command line's --subject and --number."""
        return render_issue(
            issue,
            self.settings.newsletter,
            self.template_dirs,
            self.clock.now().astimezone(ZoneInfo(self.settings.newsletter.timezone)).date(),
            theme=self.settings.theme,
            overrides=overrides,
            utm=Utm(
                self.settings.tracking.utm,
                sites=(self.settings.newsletter.site_url, self.settings.archive.url),
                serve_url=self.settings.unsubscribe.url,
            ),
            archive_url=self.archive_url(issue.id),
        )

    def archive_url(self, issue_id: str) -> str:
        """The issue's page in the web archive ([archive] url), "" when there is none:
        no url, or a welcome issue (never archived)."""
        if is_welcome_issue(issue_id):
            return ""
        return self.settings.archive.issue_url(issue_id)

    # --- where things are ---

    def shown(self, path: Path) -> str:
        """A path as the user should see it: relative to where they are, if inside."""
        return shown(path)

    def find(self, path: Path) -> Path:
        """A path as given on the command line; a relative one that is not found from
        the current folder is looked up in the project (`--project` from elsewhere)."""
        if path.is_absolute() or path.exists() or not (self.root / path).exists():
            return path
        return self.root / path

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def template_dirs(self) -> tuple[Path, ...]:
        folder = self.root / "templates"
        return (folder,) if folder.is_dir() else ()

    @property
    def outbox_dir(self) -> Path:
        return self.root / self.settings.outbox.dir

    def list_path(self, name: str) -> Path:
        return self.root / "subscribers" / f"{check_list_name(name)}.csv"

    def list_lock(self, name: str) -> Path:
        """The lock that commands changing a list's file take turns on."""
        return self.state_dir / "locks" / f"list-{check_list_name(name)}.lock"

    def list_names(self) -> list[str]:
        folder = self.root / "subscribers"
        return sorted(p.stem for p in folder.glob("*.csv")) if folder.is_dir() else []

    def resolve_list(self, name: str | None) -> str | None:
        """The list a command works on: the one named (its file must exist), else the
        project's only list, else None when it has none."""
        if name is not None:
            path = self.list_path(name)
            if not path.exists():
                raise ListError("no such list file", file=self.shown(path))
            return name  # a folder or a pipe there is named when it is read
        names = self.list_names()
        if len(names) > 1:
            raise UsageError(f"missing --list LIST: say which (lists here: {', '.join(names)})")
        return names[0] if names else None

    def reader_list(self, name: str | None) -> tuple[str | None, str | None]:
        """The list whose subscriber a preview, a check or a test copy is made for:
        the one named, else [newsletter] default_list, else the project's only list;
        with several and no default, none (a sample reader, made of the template's
        fallbacks), and a note that says so."""
        if name is not None:
            return self.resolve_list(name), None
        default = self.settings.newsletter.default_list
        if default:
            path = self.list_path(default)
            if not path.exists():
                raise SettingsError(
                    f"names {self.shown(path)}, which does not exist",
                    file=self.shown(self.settings.path),
                    setting="[newsletter] default_list",
                )
            return default, None
        names = self.list_names()
        if len(names) > 1:
            return None, (
                f"this project has {len(names)} lists ({', '.join(names)}) and no "
                "[newsletter] default_list: made for a sample reader (the template's "
                "fallbacks for the name and fields); --list LIST picks a list"
            )
        return (names[0] if names else None), None

    # --- one sender at a time ---

    @contextlib.contextmanager
    def send_lock(
        self,
        issue_id: str,
        wait: bool = False,
        what: str = "newsletter send",
        shared: bool = False,
    ) -> Iterator[None]:
        """One sender at a time per issue (a send, or a cron run). The lock is the
        operating system's (filelock), so a killed process leaves none behind; who
        holds it is written beside it, for the message the next run gets (LockHeld).
        With the state on PostgreSQL it is the database's, and senders take it
        `shared`: the runs of several hosts send one issue together, each batch
        claimed by one (see `claimant`), while what must have the issue alone (a
        schedule, a cancel) waits for them all, or they for it."""
        from filelock import FileLock, Timeout

        engine = self.state.engine
        if isinstance(engine, PgEngine):
            with self._database_lock(engine, issue_id, wait, what, shared):
                yield
            return

        folder = self.state_dir / "locks"
        lock = FileLock(folder / f"{issue_id}.lock")
        holder = folder / f"{issue_id}.json"
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            try:
                info = json.loads(holder.read_text())
                who = f"process {info['pid']}, {info['what']}, since {info['since']}"
            except (OSError, ValueError, KeyError):
                who = "another process"
            raise LockHeld(
                f"issue {issue_id} is being sent by another run ({who}); wait for it, "
                "or run again with --wait",
                file=self.shown(self.state_dir),
            ) from None
        except OSError as exc:
            raise StateError(
                f"cannot take the send lock of issue {issue_id}: {exc.strerror}; the locks "
                "folder must be writable (nothing was sent or changed)",
                file=self.shown(folder),
            ) from None
        try:
            with contextlib.suppress(OSError):  # who holds it: for the message, not the lock
                holder.write_text(
                    json.dumps({"pid": os.getpid(), "what": what,
                                "since": self.clock.now().isoformat(timespec="seconds")})
                )  # fmt: skip
            yield
        finally:
            with contextlib.suppress(OSError):
                holder.unlink(missing_ok=True)
            lock.release()

    @contextlib.contextmanager
    def _database_lock(
        self, engine: PgEngine, issue_id: str, wait: bool, what: str, shared: bool
    ) -> Iterator[None]:
        name = f"send:{issue_id}"
        holder = engine.lock(name, wait, self._who(what), shared)
        if holder is not None:
            raise LockHeld(
                f"issue {issue_id} is being sent by another run ({holder}); wait for it, "
                "or run again with --wait",
                setting=engine.setting,
            )
        try:
            yield
        finally:
            engine.unlock(name, shared)

    def _who(self, what: str) -> str:
        return f"{what}, process {os.getpid()} on {socket.gethostname()}"

    @property
    def claimant(self) -> Claimant:
        """This run, as it claims batches: a name of its own; with the state on
        PostgreSQL it holds a lock of that name while its connection lives, so other
        runs can tell it is alive (and hold as ambiguous only the batches of runs that
        are gone). On SQLite one run sends an issue at a time (the file lock)."""
        if self._claimant is None:
            name = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
            engine = self.state.engine
            if isinstance(engine, PgEngine):
                engine.lock(f"run:{name}", wait=True, who="")
                self._claimant = Claimant(name, lambda owner: engine.held(f"run:{owner}"))
            else:
                self._claimant = Claimant(name)
        return self._claimant

    # --- the state this project sends from ---

    def guard_state(self, delivering: bool) -> None:
        """Before a send, a schedule or a cron run: the state must be the one
        newsletter.toml records ([state] id), so that a clone without the state (or
        pointed at another) does not send to addresses that unsubscribed elsewhere.
        Delivering for real, another state is refused, and the first such delivery
        records the state's id; the outbox and dry runs only warn."""
        if delivering:
            self._warned = True  # refused below, in one line: no warning before it
        found = self.state.identity.ensure(self.clock.now())
        recorded = self.settings.state.id
        if recorded == found:
            return
        if not recorded:
            if delivering:
                self.record_state_id(found)
            return
        message = self._other_state(recorded, found)
        if delivering:
            raise StateError(message, file=self.shown(self.settings.path), setting="[state] id")
        if not self._warned:
            self._warned = True
            self.notice(f"warning: {self.shown(self.settings.path)}: [state] id: {message}")

    def other_state(self) -> str | None:
        """What is wrong when the state reached is not the one newsletter.toml records
        (`serve` answers nothing from such a state: its key would refuse every link
        already sent); None when it is, or when the project records none."""
        recorded = self.settings.state.id
        if not recorded:
            return None
        found = self.state.identity.ensure(self.clock.now())
        return None if found == recorded else self._other_state(recorded, found)

    def _other_state(self, recorded: str, found: str) -> str:
        state = self.state
        setting = self.state_url[1]
        if setting == "[state] url" and self.settings.state.url == STATE_DEFAULT:
            setting = "the default [state] url"
        what = "a new, empty state" if not state.identity.holds_anything() else f"state {found}"
        return (
            f"the state this checkout reaches ({state.engine.where}, from {setting}) is "
            f"{what}, not the state {recorded} this project has sent from: point "
            f"{STATE_URL_ENV} or [state] url at that one, or move it here (`newsletter state "
            "export FILE` where it is, `newsletter state import FILE` here); to start a new "
            "state on purpose, run `newsletter state adopt`"
        )

    def after_import(self, exported_id: str) -> None:
        """After `state import`: when the project sent from the exported state (or
        recorded none), it sends from this one now, which holds all of that one."""
        found = self.state.identity.ensure(self.clock.now())
        if self.settings.state.id in ("", exported_id) and found != self.settings.state.id:
            self.record_state_id(found)

    def record_state_id(self, state_id: str) -> bool:
        """Write `[state] id` into newsletter.toml (to be committed with the project);
        False, with a note, when the file cannot be edited safely or written."""
        from newsletter.files import atomic
        from newsletter.settings import with_state_id

        path = self.settings.path
        where = self.shown(path)
        try:
            edited = with_state_id(read_text(path, where, SettingsError), state_id)
            if edited is not None:
                with atomic(path, text=True) as handle:
                    handle.write(edited)
        except (OSError, SettingsError) as exc:
            self.notice(f'note: {where}: cannot record [state] id = "{state_id}" ({exc})')
            return False
        if edited is None:
            self.notice(f"note: {where}: add [state] id = \"{state_id}\" by hand (this file's "
                        "[state] table is written in a way newsletter does not edit)")  # fmt: skip
            return False
        self.settings = replace(self.settings, state=replace(self.settings.state, id=state_id))
        self.notice(f"note: {where}: recorded [state] id = \"{state_id}\", the state this "
                    "project sends from; commit it")  # fmt: skip
        return True

    # --- the unsubscribe secret ---

    def _unsubscribe_secret(self) -> bytes:
        """From the environment variable named in settings, else the state's own (a
        random secret made once; on every host that shares the state). Never printed."""
        name = self.settings.unsubscribe.secret_env
        if name and name in os.environ:
            value = os.environ[name]
            if len(value) < 16:
                raise SettingsError(
                    f"the variable {name} is set but shorter than 16 characters; use a "
                    "long random value",
                    file=self.shown(self.settings.path),
                    setting="[unsubscribe] secret_env",
                )
            return value.encode()
        return self._stored_secret()

    def _stored_secret(self) -> bytes:
        """The state's unsubscribe secret; made on first use, or taken from the
        `.newsletter/secret` file of a release that kept it there (so the links of
        earlier issues keep verifying)."""
        state = self.state
        value = state.secrets.get(UNSUBSCRIBE)
        if value is None:
            legacy = self.state_dir / SECRET_FILE
            made = secrets.token_hex(SECRET_BYTES)
            if legacy.exists():
                made = _checked_secret(
                    read_text(legacy, self.shown(legacy), StateError).strip(), self.shown(legacy)
                )
            value = state.secrets.keep(UNSUBSCRIBE, made, self.clock.now())
        return _checked_secret(value, state.engine.where).encode()


def _checked_secret(value: str, where: str, name: str = UNSUBSCRIBE) -> str:
    if len(value) < 32:
        raise StateError(
            f"the stored {name} secret is damaged (shorter than 32 characters); "
            "restore it from a backup (new links would not match the old ones)"
            if name == UNSUBSCRIBE
            else f"the stored {name} secret is damaged (shorter than 32 characters); "
            "restore it from a backup (forgotten addresses would not be known again)",
            file=where,
        )
    return value


def check_list_name(name: str) -> str:
    if not LIST_NAME.fullmatch(name):
        raise UsageError(
            f"--list {name!r}: use letters, digits, '.', '_' or '-' "
            "(the file is subscribers/<list>.csv)"
        )
    return name
