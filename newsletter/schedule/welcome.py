"""The welcome issues: `[lists.NAME] welcome = "articles/welcome.md"` is sent once to
each signup confirmed on that list, by `cron`, through the ledger like any issue (so
never twice, resumable after a kill, and in `status`).

Each cron run puts the list's newly confirmed signups in one welcome issue of their
own (`welcome-LIST-N`, N the first signup's number; chosen in one transaction, so
two runs never split or share a group), freezes it from the article as it is then
(checked like any send), and the run's sends then deliver it as an interrupted
issue. A run killed between the choice and the freeze leaves the group chosen: the
next run freezes it with the same recipients."""

from __future__ import annotations

from dataclasses import dataclass, field

from newsletter.audience.rows import find_members
from newsletter.errors import NewsletterError, SettingsError
from newsletter.project import Project
from newsletter.send.gate import gate
from newsletter.send.plan import content_hash, plan_send
from newsletter.state.signups import Signup


@dataclass
class Welcomes:
    frozen: list[str] = field(default_factory=list)  # the welcome issues frozen now
    errors: list[tuple[str, NewsletterError]] = field(default_factory=list)  # by list


def freeze_welcomes(project: Project) -> Welcomes:
    """Freeze a welcome issue for each list's newly confirmed signups."""
    found = Welcomes()
    for name, settings in sorted(project.settings.lists.items()):
        if not settings.welcome:
            continue
        try:
            with project.state.transaction():
                groups = project.state.signups.welcome_groups(name)
            for issue_id, group in groups.items():
                if project.state.issues.get(issue_id) is None:
                    _freeze(project, name, settings.welcome, issue_id, group)
                    found.frozen.append(issue_id)
                project.state.signups.welcomed(issue_id)
        except NewsletterError as exc:  # the group waits for the next run
            found.errors.append((name, exc))
    return found


def _freeze(project: Project, name: str, article: str, issue_id: str, group: list[Signup]) -> None:
    path = project.root / article
    if not path.is_file():
        raise SettingsError(
            f"names {project.shown(path)}, which does not exist",
            file=project.shown(project.settings.path),
            setting=f"[lists.{name}] welcome",
        )
    plan = plan_send(project, [path], name, issue_id)
    assert plan.issue is not None  # made from its article
    try:
        gate(plan, force=False)
        members = find_members(project, name, [s.email for s in group])
        # each as the list has them now; one no longer on it (left it, or taken out of
        # its file since) gets no welcome
        subscribers = [members[s.email_key] for s in group if s.email_key in members]
        project.state.ledger.freeze(plan.rendered, name, plan.transport.name,
                                    [project.shown(path)], content_hash(plan.issue),
                                    subscribers, project.clock.now())  # fmt: skip
    finally:
        plan.transport.close()
