"""`newsletter check`: lint an issue as one subscriber gets it, before anyone does.

Rules live in rules.py (pure), client support in support.py (caniemail's data),
link checking in links.py (the only part that touches the network, on request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

from newsletter.audience.targeting import Targeting
from newsletter.check.rules import Email, Finding, links_of, run
from newsletter.message import MessageMaker, header_values
from newsletter.preview import Sample, make_sample
from newsletter.project import Project
from newsletter.render.links import relative_urls
from newsletter.render.placeholders import UNSUBSCRIBE_URL


@dataclass
class CheckReport:
    issue_id: str
    subject: str
    recipient: str
    html_bytes: int
    findings: list[Finding] = field(default_factory=list)
    note: str | None = None  # who the email was checked as, when that needs saying

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def data(self) -> dict[str, object]:
        return {
            "issue": self.issue_id, "subject": self.subject, "recipient": self.recipient,
            "html_bytes": self.html_bytes, "errors": len(self.errors),
            "warnings": len(self.warnings), "findings": [f.data() for f in self.findings],
            "note": self.note,
        }  # fmt: skip


def check_issue(
    project: Project,
    articles: Sequence[Path],
    list_name: Targeting | str | None = None,
    as_email: str | None = None,
    issue_id: str | None = None,
    online: bool = False,
) -> CheckReport:
    """`newsletter check`: the issue of `articles` as the list's first subscriber (or
    `as_email`) gets it."""
    sample = make_sample(project, articles, list_name, as_email, issue_id)
    return command_check(project, sample, online)


def command_check(project: Project, sample: Sample, online: bool = False) -> CheckReport:
    """What `newsletter check` finds in one subscriber's copy, judged for the project's
    transport; the live preview (`preview --serve`) shows the same on every save."""
    delivering = project.settings.transport.kind != "outbox"  # what `send` would do
    report = check_sample(project, sample, online, delivering)
    report.note = sample.note
    return report


def untranslated(project: Project, sample: Sample) -> list[Finding]:
    """A warning for each language of the issue whose template words would be English."""
    from newsletter.render import PACKAGE_TEMPLATES
    from newsletter.render.words import english_words

    languages = [project.settings.newsletter.language]
    languages += [a.language for a in sample.issue.articles if a.language]
    found = []
    for tag in dict.fromkeys(languages):
        english = english_words(tag, project.template_dirs, PACKAGE_TEMPLATES)
        # the email's own words first; the web archive's pages (archive_*) after them
        english = tuple(sorted(english, key=lambda key: key.startswith("archive_")))
        if english:
            shown = ", ".join(english[:6]) + (
                f" and {len(english) - 6} more" if len(english) > 6 else ""
            )
            found.append(Finding(
                "words", "warning",
                f"the template has no words in {tag!r} for {shown}: those are in English; "
                f"add them to templates/words/{tag}.toml (see README, The email)",
            ))  # fmt: skip
    return found


def check_sample(
    project: Project, sample: Sample, online: bool = False, delivering: bool = False
) -> CheckReport:
    """Lint an issue as one subscriber gets it (with its list's columns, if any);
    `delivering`: for a real send, which some findings stop."""
    from newsletter.audience.rows import list_fields

    rendered, copy = sample.rendered, sample.copy
    maker = MessageMaker(rendered, sample.envelope, project.clock.now())
    _, message = maker.make(sample.recipient)
    columns = None
    if sample.field_lists:
        columns = frozenset(c for name in sample.field_lists for c in list_fields(project, name))
    base = project.settings.newsletter.site_url.rstrip("/") + "/"
    used = frozenset(f.column for f in rendered.fields.values() if not f.default)
    email = Email(
        subject=copy.subject,
        html=copy.html,
        text=copy.text,
        preheader=rendered.preheader,
        headers=header_values(message),
        unsubscribe_url=sample.recipient.values.get(UNSUBSCRIBE_URL, ""),
        postal_address=project.settings.newsletter.postal_address,
        fields=used,
        columns=columns,
        relative=tuple(
            (project.shown(a.path), url, urljoin(base, url))
            for a in sample.issue.articles
            for url in relative_urls(a)
        ),
        delivering=delivering,
    )
    report = CheckReport(rendered.id, copy.subject, sample.recipient.email,
                         len(copy.html.encode()), run(email))  # fmt: skip
    report.findings += untranslated(project, sample)
    if online:
        from newsletter.check.links import broken_links

        # the issue's page in the web archive is published after the send (archive build)
        page = project.archive_url(rendered.id)
        report.findings += broken_links([url for url in links_of(copy.html) if url != page])
    return report
