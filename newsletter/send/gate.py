"""The check before a send: `send`, `schedule` and `cron` all lint the email as the
list's first subscriber gets it, and refuse on an error unless forced, in one
wording."""

from __future__ import annotations

from dataclasses import replace

from newsletter.check import CheckReport, check_sample
from newsletter.errors import CheckError
from newsletter.preview import sample_of
from newsletter.send.plan import SendPlan
from newsletter.transports import delivers


class EmailHasErrors(CheckError):
    """`newsletter check` finds errors in the email, and the send is not forced."""

    def __init__(self, report: CheckReport) -> None:
        self.report = report
        errors = report.errors
        first = f"{errors[0].rule}: {errors[0].message}" if errors else "?"
        more = f"; and {len(errors) - 1:,} more" if len(errors) > 1 else ""
        super().__init__(
            f"`newsletter check` finds {len(errors):,} error{'s' * (len(errors) != 1)} in "
            f"the email ({first}{more}): fix {'them' if len(errors) != 1 else 'it'}, or "
            "send or queue it with --force"
        )


def check_plan(plan: SendPlan) -> CheckReport:
    """The email of a planned send, checked as its list's first subscriber (or a
    stand-in, with no list) gets it."""
    assert plan.issue is not None, "a resumed send is not checked again: it is frozen"
    has_list = plan.list_path.is_file()
    sample = sample_of(plan.project, plan.issue, plan.rendered,
                       plan.list_name if has_list else None, plan.first_subscriber())  # fmt: skip
    if plan.target is not None and plan.targeted:
        sample = replace(sample, lists=plan.target.lists)
    return check_sample(plan.project, sample, delivering=delivers(plan.transport))


def refuse(report: CheckReport, force: bool) -> None:
    """Stop the send when the email has errors, unless forced."""
    if report.errors and not force:
        raise EmailHasErrors(report)


def gate(plan: SendPlan, force: bool) -> CheckReport:
    """Check the planned email; raise EmailHasErrors on an error unless `force`."""
    report = check_plan(plan)
    refuse(report, force)
    return report
