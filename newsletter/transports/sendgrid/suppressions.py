"""Reading SendGrid's suppression lists (for `subscribers sync` and `cron`), through
the official client with the transport's opener: no redirects (the key would follow
them), a deadline on every request.

Each list pages with `limit` (at most 500) and `offset`; a page shorter than the
limit is the last. `start_time` (Unix seconds) asks only for what is newer. Group
unsubscribes (ASM) come as one list of addresses per group, without times.
"""

from __future__ import annotations

import json
import random
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from newsletter.clock import Clock
from newsletter.errors import PermanentError, TransientError, TransportError
from newsletter.settings import SendgridSettings
from newsletter.transports.base import RetryPolicy
from newsletter.transports.sendgrid.client import answer_error, endpoint

PAGE = 500
# SendGrid's list -> (our reason, where it is in the client)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "unsubscribes": ("unsubscribed", ("suppression", "unsubscribes")),
    "bounces": ("bounced", ("suppression", "bounces")),
    "spam_reports": ("spam report", ("suppression", "spam_reports")),
    "blocks": ("blocked", ("suppression", "blocks")),
    "invalid_emails": ("invalid", ("suppression", "invalid_emails")),
}


@dataclass(frozen=True)
class Listed:
    """An address on one of SendGrid's suppression lists."""

    email: str
    created: int  # Unix time; 0 when SendGrid gives none (group unsubscribes)


class SuppressionReader:
    def __init__(
        self,
        settings: SendgridSettings,
        api_key: str,
        clock: Clock,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings, self.clock, self.timeout = settings, clock, timeout
        self.api_key = api_key
        self.retry = retry or RetryPolicy()

    def entries(self, kind: str, since: int, until: int) -> Iterator[Listed]:
        """Every entry of SendGrid's `kind` list created in [since, until], page by page."""
        endpoint = self._endpoint(*KINDS[kind][1])
        offset = 0
        while True:
            query = {"start_time": since, "end_time": until, "limit": PAGE, "offset": offset}
            page = self._get(endpoint, query, f"/v3/suppression/{kind}")
            if not isinstance(page, list):
                raise PermanentError(f"SendGrid's {kind} list is not a list of entries")
            for item in page:
                if isinstance(item, dict) and isinstance(item.get("email"), str):
                    yield Listed(item["email"], int(item.get("created") or 0))
            if len(page) < PAGE:
                return
            offset += PAGE

    def group(self, group_id: int) -> list[str]:
        """The addresses unsubscribed from one unsubscribe group."""
        endpoint = self._endpoint("asm", "groups", str(group_id), "suppressions")
        found = self._get(endpoint, None, f"/v3/asm/groups/{group_id}/suppressions")
        if not isinstance(found, list):
            raise PermanentError(f"SendGrid's unsubscribe group {group_id} is not a list")
        return [email for email in found if isinstance(email, str)]

    def _endpoint(self, *parts: str) -> Any:
        return endpoint(self.api_key, self.settings.host, self.timeout, *parts)

    def _get(self, endpoint: Any, query: dict[str, Any] | None, path: str) -> Any:
        """One GET, retried on 429 (after its reset), 5xx and connection failures, as
        the send loop retries a batch (RetryPolicy)."""
        from python_http_client.exceptions import HTTPError as Answer

        attempt = 1
        while True:
            try:
                response = endpoint.get(query_params=query, timeout=self.timeout)
                return json.loads(response.body or b"[]")
            except Answer as exc:
                error: TransportError = answer_error(exc, self.clock, path)
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                error = TransientError(f"cannot reach SendGrid at {self.settings.host}: {reason}")
            except ValueError:
                raise PermanentError(f"SendGrid's answer to {path} is not JSON") from None
            wait = None
            if isinstance(error, TransientError):
                wait = self.retry.wait(attempt, error, random.random())
            if wait is None:
                raise error
            self.clock.sleep(wait)
            attempt += 1
