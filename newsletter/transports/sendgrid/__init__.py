"""The SendGrid transport: one v3 Mail Send request per batch of up to 1000, through
the official `sendgrid` client (client.py), with SendGrid doing the per-recipient
substitution (the request body is built apart, in payload.py).

Where a failure happens decides what it means:
- an HTTP error answer: 429 and 5xx are transient (retried by the send loop, a 429
  after its X-RateLimit-Reset), 400/401/403/413 and the rest permanent, with the
  API's own message;
- failing to connect or to send the request (urllib wraps it in URLError): nothing
  can have been accepted, transient;
- the answer never coming (a read timeout, the connection dropped after the request
  went out), or an answer other than 202 (200 in sandbox mode): SendGrid may have
  accepted the batch, so it is ambiguous and never resent by itself.
The API key is used for the Authorization header and nowhere else: it is never in
a message, a log line or a file.
"""

from __future__ import annotations

import urllib.error
from typing import Any

from newsletter.clock import Clock
from newsletter.errors import AmbiguousError, PermanentError, TransientError, TransportError
from newsletter.settings import NO_TRACKING, SendgridSettings, TrackingSettings
from newsletter.transports.base import Batch, BatchResult
from newsletter.transports.sendgrid.client import answer_error, endpoint, header, post_json
from newsletter.transports.sendgrid.payload import PayloadMaker


class SendgridTransport:
    name = "sendgrid"
    batch_size = 1000

    def __init__(
        self,
        settings: SendgridSettings,
        api_key: str,
        clock: Clock,
        timeout: float = 30.0,
        tracking: TrackingSettings = NO_TRACKING,
    ) -> None:
        """`timeout`: seconds one request may take (the client has no limit of its own);
        `tracking`: whether SendGrid tracks opens and clicks ([tracking])."""
        self.settings = settings
        self.tracking = tracking
        self.clock = clock
        self.timeout = timeout
        self._endpoint = endpoint(api_key, settings.host, timeout, "mail", "send")
        self._made: tuple[object, object, bool, PayloadMaker] | None = None

    def destination(self, issue_id: str, test: bool = False) -> str:
        return destination(self.settings)

    def _maker(self, batch: Batch) -> PayloadMaker:
        """The request maker of the batch's send: its shared parts are encoded once."""
        made = self._made
        same = made and made[0] is batch.issue and made[1] is batch.envelope
        if made is None or not same or made[2] != batch.test:
            maker = PayloadMaker(batch.issue, batch.envelope, self.settings, batch.test,
                                 self.tracking)  # fmt: skip
            self._made = made = (batch.issue, batch.envelope, batch.test, maker)
        return made[3]

    def send(self, batch: Batch) -> BatchResult:
        try:
            payload = self._maker(batch).make(batch.recipients)
        except PermanentError as exc:
            return BatchResult(error=exc)
        if not payload.recipients:
            return BatchResult(refused=payload.refused)
        from python_http_client.exceptions import HTTPError as Answer

        count = len(payload.recipients)
        try:
            response = post_json(self._endpoint, payload.body, self.timeout)
        except Answer as exc:  # SendGrid answered with an error status
            return BatchResult(refused=payload.refused, error=self._answer_error(exc, count))
        except urllib.error.URLError as exc:  # connecting or sending: nothing accepted
            reason = getattr(exc, "reason", exc)
            error = TransientError(f"cannot reach SendGrid at {self.settings.host}: {reason}")
            return BatchResult(refused=payload.refused, error=error)
        except Exception as exc:  # after the request went out: it may have been accepted
            return self._ambiguous(
                payload.recipients,
                payload.refused,
                f"no answer from SendGrid for a batch of {count} recipients "
                f"({type(exc).__name__}: {exc or 'connection closed'}); SendGrid may have "
                "accepted it, so it is not sent again",
            )
        expected = 200 if self.settings.sandbox else 202
        if response.status_code != expected:
            return self._ambiguous(
                payload.recipients,
                payload.refused,
                f"SendGrid answered {response.status_code}, not the {expected} that means "
                f"accepted, for a batch of {count} recipients; it is not sent again",
            )
        message_id = header(response.headers, "X-Message-Id") or "(no X-Message-Id)"
        accepted = dict.fromkeys(payload.recipients, message_id)
        return BatchResult(accepted, payload.refused, batch_id=message_id)

    def close(self) -> None:
        pass

    @staticmethod
    def _ambiguous(emails: list[str], refused: dict[str, str], message: str) -> BatchResult:
        return BatchResult(refused=refused, ambiguous=tuple(emails), error=AmbiguousError(message))

    def _answer_error(self, exc: Any, count: int) -> TransportError:
        error = answer_error(exc, self.clock)
        if isinstance(error, PermanentError):
            return PermanentError(f"{error.message} (a batch of {count} recipients)",
                                  status=error.status)  # fmt: skip
        return error


def destination(settings: SendgridSettings) -> str:
    sandbox = ", sandbox mode" if settings.sandbox else ""
    return f"SendGrid at {settings.host}{sandbox}"
