"""`newsletter archive build`: the web archive written to a folder, whole.

    index.html                 every issue, newest first
    issues/ID/index.html       each issue's page (one folder an issue: stable URLs)
    feed.xml, sitemap.xml      with [archive] url only (their links are absolute)
    .newsletter-archive        what the build wrote (JSON), so the next build may
                               remove what is no longer in the archive

Every link between the pages is relative, so the folder can be published anywhere
(a GitHub Pages project site lives under /REPO/) or opened from the disk. Each file is
written atomically, and only when it changed: a rebuild with nothing new writes
nothing. The folder is the archive's alone: a folder that is not empty and has no
.newsletter-archive is refused, and only files the previous build wrote are removed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin

from newsletter.archive.contents import ArchivedIssue, archived_issues
from newsletter.archive.feed import FeedEntry, atom_feed, sitemap
from newsletter.archive.index import IndexEntry, index_page
from newsletter.archive.page import Neighbour, PageSite, issue_page, subject_of
from newsletter.audience.signup import pages_url
from newsletter.errors import ArchiveError
from newsletter.files import atomic, shown
from newsletter.project import Project
from newsletter.render import PACKAGE_TEMPLATES
from newsletter.render.theme import ThemeView
from newsletter.render.words import Words, words
from newsletter.settings import archive_page

MARKER = ".newsletter-archive"
INDEX, FEED, SITEMAP = "index.html", "feed.xml", "sitemap.xml"


@dataclass(frozen=True)
class Built:
    folder: Path
    issues: int  # pages of issues in the archive
    written: int  # files written (new or changed)
    unchanged: int  # files already as they are
    removed: int  # files of the build before that are no longer in the archive
    feed: bool  # feed.xml and sitemap.xml were written ([archive] url is set)


def build_archive(project: Project, output: Path | None = None) -> Built:
    """Write the archive into `output` (default: [archive] dir, in the project)."""
    settings = project.settings
    folder = output if output is not None else project.root / settings.archive.dir
    before = _owned(folder, project.root, settings.path, None if output else "[archive] dir")
    base = settings.archive.url
    said = _words(project)
    theme = ThemeView.of(settings.theme)
    site = PageSite(settings.newsletter.name, bool(base), str(theme.heading_font), said)
    subscribe = _subscribe_urls(project)
    files: dict[str, bytes] = {}
    listed: list[IndexEntry] = []
    entries: list[FeedEntry] = []
    pages: list[tuple[str, datetime | None]] = []  # for the sitemap
    newer: Neighbour | None = None
    for issue, following in _with_next(archived_issues(project)):
        page = archive_page(issue.id)
        url = f"{base}/{page}" if base else ""
        subject = subject_of(issue)
        older = Neighbour(following.id, subject_of(following)) if following else None
        files[page + INDEX] = issue_page(
            issue, site, url, subscribe(issue.list_name), older, newer
        ).encode()
        newer = Neighbour(issue.id, subject)
        listed.append(IndexEntry(page + INDEX, subject, issue.rendered.preheader, issue.sent_at))
        entries.append(FeedEntry(url, subject, issue.rendered.preheader, issue.sent_at))
        pages.append((page, issue.sent_at))
    name, now = settings.newsletter.name, project.clock.now()
    language = settings.newsletter.language
    home = said(language)
    files[INDEX] = index_page(
        project,
        home,
        listed,
        FEED if base else "",
        f"{base}/" if base else "",
        subscribe(None),
        now,
    ).encode()
    if base:
        files[FEED] = atom_feed(
            base, name, home.text("archive_intro", name=name), language, entries, now
        )
        files[SITEMAP] = sitemap(base, [("", listed[0].sent_at if listed else None), *pages])
    return _write(folder, files, before, len(listed), bool(base))


def _with_next(
    issues: Iterable[ArchivedIssue],
) -> Iterator[tuple[ArchivedIssue, ArchivedIssue | None]]:
    """Each issue with the one after it (the one sent before it: they are newest
    first), holding two at a time."""
    found = iter(issues)
    current = next(found, None)
    while current is not None:
        following = next(found, None)
        yield current, following
        current = following


def _words(project: Project) -> Callable[[str], Words]:
    found: dict[str, Words] = {}

    def of(language: str) -> Words:
        if language not in found:
            found[language] = words(language, project.template_dirs, PACKAGE_TEMPLATES)
        return found[language]

    return of


def _subscribe_urls(project: Project) -> Callable[[str | None], str]:
    """Where a reader of an issue sent to a list subscribes: that list's signup page
    (`[lists.LIST] signup = true`), else the site. For the index (None): the default
    list's, else the only list with a signup page's, else the site."""
    settings = project.settings
    site = settings.newsletter.site_url

    def signup(name: str) -> str:
        return urljoin(pages_url(project), f"subscribe/{name}")

    open_lists = sorted(n for n, s in settings.lists.items() if s.signup)
    default = settings.newsletter.default_list
    front = default if default in open_lists else open_lists[0] if len(open_lists) == 1 else None

    def of(name: str | None) -> str:
        if name is None:
            return signup(front) if front else site
        return signup(name) if settings.list_settings(name).signup else site

    return of


# --- the folder ---


def _owned(folder: Path, root: Path, settings_file: Path, setting: str | None = None) -> set[str]:
    """The files the previous build wrote in `folder` (none for a new or empty one);
    a folder the archive does not own is refused (naming `setting`, when the folder
    is the setting's, else the folder)."""

    def refused(why: str) -> ArchiveError:
        if setting is None:
            return ArchiveError(why, file=shown(folder))
        return ArchiveError(f"{shown(folder)} {why}", file=shown(settings_file), setting=setting)

    try:
        resolved = folder.resolve()
        if resolved == root.resolve() or root.resolve().is_relative_to(resolved):
            raise refused(
                "is the project's folder, or holds it: give the archive a folder "
                "of its own (--output DIR or [archive] dir)"
            )
        if not folder.exists():
            return set()
        if not folder.is_dir():
            raise refused("is not a folder: give a folder for the archive")
        marker = folder / MARKER
        if not marker.is_file():
            if any(folder.iterdir()):
                raise refused(
                    f"is not empty and was not written by `newsletter archive "
                    f"build` (it has no {MARKER}): give an empty or new folder"
                )
            return set()
        data = json.loads(marker.read_text(encoding="utf-8"))
    except OSError as exc:
        raise refused(f"cannot be read: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError):
        raise refused(
            f"has a {MARKER} that is not what `newsletter archive build` writes: remove "
            "it, or give another folder"
        ) from None
    listed = data.get("files") if isinstance(data, dict) else None
    return {f for f in listed or () if isinstance(f, str) and _inside(f)}


def _inside(relative: str) -> bool:
    """A path the archive may have written: relative, no '..', not the marker."""
    path = PurePosixPath(relative)
    return (
        bool(relative)
        and not path.is_absolute()
        and ".." not in path.parts
        and (relative != MARKER)
    )


def _write(
    folder: Path, files: dict[str, bytes], before: set[str], issues: int, feed: bool
) -> Built:
    written = unchanged = removed = 0
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # what it owns while it writes: the old and the new (a build killed midway
        # leaves a folder the next build still owns)
        _save(folder / MARKER, _manifest(before | set(files)))
        for relative, data in files.items():
            path = folder / relative
            if _same(path, data):
                unchanged += 1
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            _save(path, data)
            written += 1
        for relative in sorted(before - set(files)):
            path = folder / relative
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed += 1
            _prune(path.parent, folder)
        _save(folder / MARKER, _manifest(set(files)))
    except OSError as exc:
        where = shown(exc.filename) if exc.filename else shown(folder)
        raise ArchiveError(f"cannot write the archive: {exc.strerror or exc}", file=where) from None
    return Built(folder, issues, written, unchanged, removed, feed)


def _manifest(files: set[str]) -> bytes:
    data = {"written_by": "newsletter archive build", "files": sorted(files)}
    return (json.dumps(data, indent=1) + "\n").encode()


def _same(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _save(path: Path, data: bytes) -> None:
    if _same(path, data):
        return
    with atomic(path, mode=0o644) as handle:
        handle.write(data)


def _prune(folder: Path, top: Path) -> None:
    """Empty folders left by removed pages, up to (not including) `top`."""
    while folder != top and top in folder.parents:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty
        if folder.exists():
            return
        folder = folder.parent
