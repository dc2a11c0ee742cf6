"""A reader's preferences as a policy (the page is web/preferences.py): which lists of
the project they see, and what each button does.

Leaving is at once (one list: recorded in the state, that list leaves them out; all:
an unsubscribe, as the one-click link's). Joining, or coming back after leaving, is
never at once: it is a signup of that list with its double opt-in (a confirmation
mail to the reader's own inbox), because the page's link travels with the email it
came in, and whoever was forwarded that email has it too. An address asked to be
forgotten has no lists here and no buttons.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.audience import signup
from newsletter.audience.rows import find_members
from newsletter.audience.suppressions import UNSUBSCRIBED, forgotten
from newsletter.project import Project

SOURCE = "preferences"  # the source of what the page records, and the form of its signups
ON, LEFT, OFF = "on", "left", "off"


@dataclass(frozen=True)
class ReaderList:
    name: str
    title: str
    where: str  # ON (gets it), LEFT (left it here), OFF (may join: signup = true)


def reader_lists(project: Project, email: str) -> list[ReaderList]:
    """The lists of this project the reader is on, left, or may join; a list they are
    not on and that takes no signups is not theirs to see."""
    settings = project.settings
    left = project.state.leaves.of_address(email)
    shown = []
    for name in project.list_names():
        wanted = settings.list_settings(name)
        if name in left:
            where = LEFT
        elif find_members(project, name, [email]):
            where = ON
        elif wanted.signup:
            where = OFF
        else:
            continue
        shown.append(ReaderList(name, wanted.title or name, where))
    return shown


def is_forgotten(project: Project, email: str) -> bool:
    return email in forgotten(project)


def leave(project: Project, name: str, email: str) -> None:
    project.state.leaves.add(name, email, SOURCE, project.clock.now())


def leave_all(project: Project, email: str) -> None:
    project.state.suppressions.add(email, UNSUBSCRIBED, SOURCE, project.clock.now())


def join(project: Project, name: str, email: str, client_address: str) -> signup.Asked:
    """A signup of `name` for the reader, confirmed from their inbox (the confirmation
    lifts an unsubscribe and a leave of that list); rate-limited like the form."""
    return signup.ask(project, name, email, {}, SOURCE, client_address)
