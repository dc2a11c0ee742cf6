"""The double opt-in mails: each pending signup's confirmation, sent once through the
project's transport by whoever claims it first (a mailer thread of `serve`, or
`cron`), so a web request only records the signup and answers at once, the same
for every address. A transient failure leaves it for the next try; a refusal is
kept with the signup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from newsletter.audience.signup import confirm_url
from newsletter.message import Envelope
from newsletter.personalise import Recipient
from newsletter.project import Project
from newsletter.render.notice import render_confirmation
from newsletter.render.placeholders import EMAIL, UNSUBSCRIBE_URL
from newsletter.state.signups import Signup
from newsletter.transports.base import Batch

STALE = timedelta(minutes=5)  # a claim older than this is a mailer that died


@dataclass
class Mailed:
    sent: int = 0
    refused: int = 0
    waiting: int = 0  # left for a later try (a transient failure)


def send_confirmations(project: Project, limit: int = 50) -> Mailed:
    """Send the confirmation mails that are due (at most `limit`)."""
    mailed = Mailed()
    signups = project.state.signups
    claimed = signups.claim_mail(project.clock.now(), STALE, limit)
    if not claimed:
        return mailed
    transport = project.transport()
    try:
        for at, signup in enumerate(claimed):
            result = transport.send(_batch(project, signup))
            if signup.email in result.accepted:
                signups.mailed(signup.n, project.clock.now())
                mailed.sent += 1
            elif signup.email in result.refused:
                signups.mailed(signup.n, project.clock.now(), result.refused[signup.email])
                mailed.refused += 1
            else:  # no answer (the transport is down, or unsure): all of it later
                for rest in claimed[at:]:
                    signups.release_mail(rest.n)
                mailed.waiting = len(claimed) - at
                break
    finally:
        transport.close()
    return mailed


def send_all_confirmations(project: Project) -> Mailed:
    """Every confirmation mail that is due, 50 at a time, until none is left or the
    transport cannot take them now."""
    total = Mailed()
    while True:
        mailed = send_confirmations(project)
        total.sent, total.refused = total.sent + mailed.sent, total.refused + mailed.refused
        total.waiting = mailed.waiting
        if mailed.waiting or not (mailed.sent or mailed.refused):
            return total


def _batch(project: Project, signup: Signup) -> Batch:
    settings = project.settings
    lists = settings.list_settings(signup.list_name)
    now = project.clock.now()
    rendered = render_confirmation(
        settings.newsletter,
        settings.theme,
        project.template_dirs,
        lists.title or settings.newsletter.name,
        signup.email,
        confirm_url(project, signup, now),
        settings.signup.confirm_hours,
        f"signup-{signup.list_name}",
        now.date(),
    )
    name = signup.fields.get("name", "")
    recipient = Recipient(signup.email, name, {EMAIL: signup.email, UNSUBSCRIBE_URL: ""})
    envelope = Envelope(settings.newsletter, signup.list_name, notice=True)
    return Batch(rendered, (recipient,), envelope)
