"""The unsubscribe endpoint, for the signed links in every email:

    GET  a signed link      a confirmation page with a button; changes nothing (mail
                            scanners fetch links)
    POST the same link      `List-Unsubscribe=One-Click` (RFC 8058, sent by the inbox,
                            from anywhere, as the RFC says) or the page's button:
                            records the suppression, then a done page with a way back
                            (resubscribe) when this request made it
    POST ...&a=resubscribe  the done page's button: lifts the suppression that request
                            made, and nothing else

A forged, altered, truncated or cross-list link gets 400 and records nothing; the
signature check is constant-time. The page's buttons carry a token (signing.py) and
are refused (403, nothing changed) without it or from another site's page
(`Sec-Fetch-Site: cross-site`): a page elsewhere that has a reader's link, from a
forwarded email, cannot press them through the reader's browser (a one-click POST
it can send, as anyone with the link can: RFC 8058 wants it taken from anywhere).
The way back is bound to the suppression its page made: someone who has the
link but was not there cannot lift a suppression the reader made.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from newsletter.audience.suppressions import UNDOABLE_SOURCES, UNSUBSCRIBED, forgotten
from newsletter.project import Project
from newsletter.web.pages import HEADERS, Page, Start

MAX_BODY = 10_000


def unsubscribe(project: Project, environ: dict[str, Any], start: Start) -> Iterable[bytes]:
    method = environ["REQUEST_METHOD"]
    if method not in ("GET", "HEAD", "POST"):
        start("405 Method Not Allowed", [("Allow", "GET, HEAD, POST"), *HEADERS])
        return [b""]
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    form = _form(environ) if method == "POST" else {}
    link = _link(query, project)
    page = Page(project.settings.newsletter)
    if link is None:
        return page.answer(start, "400 Bad Request", "bad_title", page.text("bad"))
    list_name, email = link
    one_click = form.get("List-Unsubscribe") == ["One-Click"]
    resubscribe = "resubscribe" in query.get("a", []) + form.get("a", [])
    confirmed = form.get("confirm") == ["1"]
    signer, key = project.signer, email.lower()
    if method != "POST" or not (one_click or resubscribe or confirmed):
        token = signer.token("confirm", list_name, key)
        return page.answer(start, "200 OK", "confirm_title", page.confirm(environ, email, token))
    token = (form.get("token") or [""])[0]
    if not one_click:  # the page's buttons
        if _cross_site(environ):
            return page.answer(start, "403 Forbidden", "stale_title", page.text("stale"))
        if resubscribe:
            return _resubscribe(project, page, start, list_name, email, token)
        if not signer.check_token(token, "confirm", list_name, key):
            return page.answer(start, "403 Forbidden", "stale_title", page.text("stale"))
    suppressions = project.state.suppressions
    made = email not in forgotten(project) and suppressions.add(  # forgotten: its hash is
        email, UNSUBSCRIBED, "one-click" if one_click else "link", project.clock.now()
    )  # suppressed already, and the address is never kept again in clear
    found = suppressions.get(email) if made else None
    back = signer.token("resubscribe", list_name, key, found.created_at) if found else None
    return page.answer(start, "200 OK", "done_title", page.done(environ, email, back))


def _resubscribe(
    project: Project, page: Page, start: Start, list_name: str, email: str, token: str
) -> Iterable[bytes]:
    """The done page's way back: it lifts the suppression that page's request made
    (its token names when), and only that."""
    suppressions = project.state.suppressions
    found = suppressions.get(email)
    if found is None:  # lifted already (a second click)
        return page.answer(start, "200 OK", "again_title", page.text("again", email))
    if found.source not in UNDOABLE_SOURCES:
        return page.answer(start, "200 OK", "done_title", page.text("kept", email))
    if not project.signer.check_token(
        token, "resubscribe", list_name, email.lower(), found.created_at
    ):
        return page.answer(start, "403 Forbidden", "stale_title", page.text("stale"))
    suppressions.remove(email, UNDOABLE_SOURCES)
    return page.answer(start, "200 OK", "again_title", page.text("again", email))


def _cross_site(environ: dict[str, Any]) -> bool:
    """A post from another site's page, as the browser says (every current one does)."""
    return environ.get("HTTP_SEC_FETCH_SITE", "").lower() == "cross-site"


def _link(query: dict[str, list[str]], project: Project) -> tuple[str, str] | None:
    """(list, address) of a link of ours (its token, or an earlier issue's signed
    address), else None."""
    return project.signer.read_link(query)


def _form(environ: dict[str, Any]) -> dict[str, list[str]]:
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
