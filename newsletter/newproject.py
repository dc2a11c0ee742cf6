"""`newsletter init`: a new project folder made from the skeleton (`skeleton/`: the
settings, a welcome article, a sample list, a README and a .gitignore), with the
newsletter's name, sender, postal address and site written into its settings, and
`git init` when asked. The questions are the command's; the checks are the ones
loading newsletter.toml makes (settings.newsletter_value)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from email.headerregistry import Address
from pathlib import Path

from newsletter.errors import NewsletterError, StateError
from newsletter.render import PACKAGE_TEMPLATES
from newsletter.settings import SETTINGS_FILE, newsletter_value, toml_string

SKELETON = Path(__file__).resolve().parent / "skeleton"  # what `newsletter init` copies
TEMPLATE_FILES = ("email.html", "email.css", "email.txt", "subject.txt", "words/en.toml",
                  "words/de.toml", "words/fr.toml", "words/es.toml")  # fmt: skip
GIT_TIMEOUT = 30  # seconds

# [newsletter] key -> what it is, as a question and in messages
ASKED = {
    "name": "Name of the newsletter",
    "from": "Sender (the From address)",
    "postal_address": "Postal address, shown in every email's footer",
    "site_url": "Website (http or https)",
}
PLACEHOLDERS = {  # what the skeleton's newsletter.toml holds until the editor says
    "name": "My Newsletter",
    "from": "news@example.com",
    "postal_address": "Your postal address, City, Country",
    "site_url": "https://example.com",
}


@dataclass
class Basics:
    """The four values a new project's [newsletter] needs, as given; for a key not
    given its placeholder is written, and named as still to set."""

    values: dict[str, str] = field(default_factory=dict)

    def settings(self) -> dict[str, str]:
        """Each key's value for newsletter.toml, placeholders for the ones not given;
        a sender without a name is sent under the newsletter's."""
        chosen = {key: self.values.get(key, PLACEHOLDERS[key]) for key in ASKED}
        sender = newsletter_value("from", chosen["from"])
        if not sender.display_name:
            sender = Address(display_name=chosen["name"], addr_spec=sender.addr_spec)
        chosen["from"] = str(sender)
        return chosen

    def missing(self) -> list[str]:
        """The keys still holding a placeholder (not given, or given as it)."""
        return [key for key in ASKED if _placeholder(key, self.values.get(key))]


def _placeholder(key: str, value: str | None) -> bool:
    if value is None:
        return True
    if key == "from":  # any name, the placeholder's address
        return bool(newsletter_value(key, value).addr_spec == PLACEHOLDERS[key])
    return bool(newsletter_value(key, value) == newsletter_value(key, PLACEHOLDERS[key]))


def check_value(key: str, value: str) -> str:
    """`value` for `[newsletter] KEY`, stripped, or ValueError saying what is wrong (the
    words loading newsletter.toml would use)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{value!r} is not UTF-8 text") from None
    newsletter_value(key, value)
    return value.strip()


def check_folder(folder: Path) -> None:
    """Refuse, before anything is asked or made, a folder that is not new or empty."""
    if (folder / SETTINGS_FILE).exists():
        raise NewsletterError(f"{folder} already holds a newsletter project ({SETTINGS_FILE})")
    if folder.exists() and not folder.is_dir():
        raise NewsletterError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise NewsletterError(f"{folder} is not empty; give a new or empty folder")


def create_project(
    folder: Path, basics: Basics | None = None, with_templates: bool = False
) -> list[Path]:
    """Copy the skeleton into `folder` with `basics` in its newsletter.toml; refuse to
    touch an existing project; take back a half-made one."""
    check_folder(folder)
    settings = settings_text(basics or Basics())
    existed = folder.exists()
    created: list[Path] = []
    target = folder
    try:
        copies = [(source, folder / source.relative_to(SKELETON))
                  for source in sorted(SKELETON.rglob("*"))
                  if source.is_file() and "__pycache__" not in source.parts]  # fmt: skip
        if with_templates:
            copies += [(PACKAGE_TEMPLATES / n, folder / "templates" / n) for n in TEMPLATE_FILES]
        for source, target in copies:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.name == SETTINGS_FILE and target.parent == folder:
                target.write_text(settings, encoding="utf-8")
            else:
                shutil.copyfile(source, target)
            created.append(target)
    except OSError as exc:  # a half-made project is taken back, so init can run again
        _empty(folder, remove=not existed)
        raise StateError(f"cannot create the project: {exc.strerror}", file=str(target)) from None
    return created


def settings_text(basics: Basics) -> str:
    """The skeleton's newsletter.toml with the four basic values in place; a value
    not given is marked as a placeholder."""
    text = (SKELETON / SETTINGS_FILE).read_text(encoding="utf-8")
    chosen = basics.settings()
    for key in ASKED:
        pattern = re.compile(rf"^{key} = .*$", re.M)
        found = pattern.search(text)
        assert found is not None, key  # the skeleton has each of them
        comment = found.group(0).partition("#")[2].strip()
        if key in basics.missing():
            comment = "placeholder: put yours here"
        line = f"{key} = {toml_string(chosen[key])}"
        if comment:
            line = f"{line:<50} # {comment}" if len(line) < 50 else f"{line}  # {comment}"
        text = text[: found.start()] + line + text[found.end() :]
    return text


def _empty(folder: Path, remove: bool) -> None:
    """Take back what a failed `init` made in `folder` (new or empty before it)."""
    if remove:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


# --- git ---


def git_found() -> bool:
    return shutil.which("git") is not None


def inside_work_tree(folder: Path) -> bool:
    """Whether `folder` (or, while it does not exist, its nearest parent) is in a git
    work tree already; False when git cannot say."""
    place = folder.resolve()
    while not place.is_dir() and place != place.parent:
        place = place.parent
    try:
        done = subprocess.run(
            ["git", "-C", str(place), "rev-parse", "--is-inside-work-tree"],
            capture_output=True, text=True, timeout=GIT_TIMEOUT, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and done.stdout.strip() == "true"


def git_init(folder: Path) -> str | None:
    """`git init` in `folder`; None when done, else why not (one line). No commit: that
    needs a git identity, which may not be set up yet."""
    try:
        done = subprocess.run(
            ["git", "init", "--quiet", str(folder)],
            capture_output=True, text=True, timeout=GIT_TIMEOUT, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"git init did not run: {exc}"
    if done.returncode != 0:
        said = " ".join(done.stderr.split()) or f"exit {done.returncode}"
        return f"git init failed: {said}"
    return None
