"""`newsletter check`: lint an issue as one subscriber gets it, before anyone does.

Rules live in rules.py (pure), client support in support.py (caniemail's data),
link checking in links.py (the only part that touches the network, on request).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

from newsletter.check.rules import Email, Finding, header_values, links_of, run
from newsletter.message import MessageMaker
from newsletter.preview import Preview, make_preview
from newsletter.project import Project
from newsletter.render.links import relative_urls
from newsletter.sending import SendPlan


@dataclass
class CheckReport:
    issue_id: str
    subject: str
    recipient: str
    html_bytes: int
    findings: list[Finding] = field(default_factory=list)

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
        }  # fmt: skip


def check_issue(
    project: Project,
    articles: Sequence[Path],
    list_name: str | None = None,
    as_email: str | None = None,
    issue_id: str | None = None,
    online: bool = False,
) -> CheckReport:
    return check_preview(project, make_preview(project, articles, list_name, as_email, issue_id),
                         list_name, online)  # fmt: skip


def check_plan(plan: SendPlan, online: bool = False) -> CheckReport:
    """The check `send` and `schedule` run first: the issue as the list's first
    subscriber (or the --test address) gets it."""
    from newsletter.audience.lists import Subscriber, first_subscriber
    from newsletter.personalise import personalise
    from newsletter.preview import PREVIEW_ADDRESS

    assert plan.issue is not None
    subscriber = None
    if plan.list_path.is_file():
        subscriber = first_subscriber(plan.list_path, plan.list_shown)
    recipient = plan.audience.recipient(subscriber or Subscriber(PREVIEW_ADDRESS), plan.rendered)
    rendered = plan.rendered
    copy = personalise(rendered.subject, rendered.html, rendered.text, recipient)
    preview = Preview(plan.issue, rendered, recipient, copy, plan.envelope)
    has_list = plan.list_path.is_file()
    return check_preview(plan.project, preview, plan.list_name if has_list else None, online)


def check_preview(
    project: Project, preview: Preview, list_name: str | None = None, online: bool = False
) -> CheckReport:
    """Lint an issue rendered for one subscriber (the list's first, or --as)."""
    from newsletter.audience.lists import list_columns

    rendered, copy = preview.rendered, preview.copy
    maker = MessageMaker(rendered, preview.envelope, project.clock.now())
    _, message = maker.make(preview.recipient)
    list_name = project.resolve_list(list_name)
    columns = None
    if list_name is not None:
        path = project.list_path(list_name)
        columns = frozenset(list_columns(path, project.shown(path)))
    base = project.settings.newsletter.site_url.rstrip("/") + "/"
    used = frozenset(f.column for f in rendered.fields.values() if not f.default)
    email = Email(
        subject=copy.subject,
        html=copy.html,
        text=copy.text,
        preheader=rendered.preheader,
        headers=header_values(message),
        unsubscribe_url=preview.recipient.values.get("unsubscribe_url", ""),
        postal_address=project.settings.newsletter.postal_address,
        fields=used,
        columns=columns,
        relative=tuple(
            (project.shown(a.path), url, urljoin(base, url))
            for a in preview.issue.articles
            for url in relative_urls(a)
        ),
    )
    report = CheckReport(rendered.id, copy.subject, preview.recipient.email,
                         len(copy.html.encode()), run(email))  # fmt: skip
    if online:
        from newsletter.check.links import broken_links

        report.findings += broken_links(links_of(copy.html))
    return report
