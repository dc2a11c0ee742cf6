"""A send's progress speaks of the transport in use (files for the outbox, requests
for SendGrid, messages for SMTP) and, on a send of more than a few seconds, says how
long it has left: the plain lines cron mails, and the bar on a terminal."""

from __future__ import annotations

import io

import pytest

from newsletter.cli import output
from newsletter.cli.output import ProgressBar
from newsletter.send.report import SendReport


class Ticks:
    """The progress bar's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def report(transport: str, accepted: int, batches: int = 1) -> SendReport:
    where = {"outbox": "outbox/i/", "sendgrid": "https://api.sendgrid.com",
             "smtp": "smtp.example.com:587"}.get(transport, "somewhere")  # fmt: skip
    return SendReport("i", "l", transport, where, accepted=accepted, batches=batches)


@pytest.mark.parametrize(
    ("transport", "words"),
    [
        ("outbox", "1,000 of 5,000 files written to outbox/i/"),
        ("sendgrid", "1,000 of 5,000 accepted by SendGrid in 1 request"),
        ("smtp", "1,000 of 5,000 messages accepted by the SMTP server"),
        ("pigeon", "1,000 of 5,000 accepted by pigeon in 1 batch"),
    ],
)
def test_a_plain_line_speaks_of_the_transport(capsys, transport, words):
    ticks = Ticks()
    progress = ProgressBar(5000, tty=False, now=ticks)
    ticks.now += ProgressBar.LINE_EVERY
    progress(report(transport, 1000))
    assert capsys.readouterr().err == f"sending: {words} (about 40 s left)\n"


def test_requests_are_counted_in_the_words_of_sendgrid(capsys):
    ticks = Ticks()
    progress = ProgressBar(None, tty=False, now=ticks)  # cron: the total is not known
    ticks.now += ProgressBar.LINE_EVERY
    progress(report("sendgrid", 3000, batches=3))
    assert capsys.readouterr().err == "sending: 3,000 accepted by SendGrid in 3 requests\n"


def test_the_time_left_follows_the_pace_and_needs_a_few_seconds(capsys, monkeypatch):
    ticks = Ticks()
    monkeypatch.setattr(ProgressBar, "LINE_EVERY", 0.0)
    progress = ProgressBar(100_000, tty=False, now=ticks)
    ticks.now += 2  # too soon to say
    progress(report("sendgrid", 1000))
    assert "left" not in capsys.readouterr().err
    ticks.now += 8  # 10 s for 2,000: 98,000 more is 490 s
    progress(report("sendgrid", 2000, batches=2))
    assert capsys.readouterr().err.endswith("in 2 requests (about 8 min left)\n")
    ticks.now += 7190  # two hours for 50,000: as long again
    progress(report("sendgrid", 50_000, batches=50))
    assert capsys.readouterr().err.endswith("(about 2 h left)\n")
    progress(report("sendgrid", 100_000, batches=100))
    assert "left" not in capsys.readouterr().err  # done: nothing left to say


def test_the_bar_on_a_terminal_names_the_transport_and_its_unit(monkeypatch):
    from rich.console import Console
    from rich.progress import TimeRemainingColumn

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    monkeypatch.setattr(output, "_stderr_console", lambda: console)
    for transport, unit in (("outbox", "files written"), ("sendgrid", "accepted, 2 requests"),
                            ("smtp", "messages")):  # fmt: skip
        with ProgressBar(5000, tty=True) as progress:
            progress(report(transport, 2000, batches=2))
            bar = progress._bar
            assert any(isinstance(c, TimeRemainingColumn) for c in bar.columns)
            bar.refresh()
        shown = screen.getvalue()
        assert f"sending via {transport}" in shown
        assert unit in shown
        assert "2000/5000" in shown
