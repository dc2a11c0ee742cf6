"""The unsubscribe endpoint, for the signed links in every email:

    GET  a signed link      a confirmation page with a button; changes nothing (mail
                            scanners fetch links)
    POST the same link      `List-Unsubscribe=One-Click` (RFC 8058, sent by the inbox)
                            or the page's button: records the suppression, then a
                            done page with a way back (resubscribe)
    POST ...&a=resubscribe  lifts a suppression this link made, and nothing else

A forged, altered, truncated or cross-list link gets 400 and records nothing; the
signature check is constant-time.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from newsletter.audience.suppressions import UNDOABLE_SOURCES, UNSUBSCRIBED
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
    _, email = link
    one_click = form.get("List-Unsubscribe") == ["One-Click"]
    resubscribe = "resubscribe" in query.get("a", []) + form.get("a", [])
    if method != "POST" or not (one_click or resubscribe or form.get("confirm") == ["1"]):
        return page.answer(start, "200 OK", "confirm_title", page.confirm(environ, email))
    suppressions = project.state.suppressions
    if resubscribe:
        if suppressions.remove(email, UNDOABLE_SOURCES) or suppressions.get(email) is None:
            return page.answer(start, "200 OK", "again_title", page.text("again", email))
        return page.answer(start, "200 OK", "done_title", page.text("kept", email))
    suppressions.add(email, UNSUBSCRIBED, "one-click" if one_click else "link",
                     project.clock.now())  # fmt: skip
    return page.answer(start, "200 OK", "done_title", page.done(environ, email))


def _link(query: dict[str, list[str]], project: Project) -> tuple[str, str] | None:
    """(list, address) of a link whose signature is right, else None."""
    try:
        (list_name,), (email,), (signature,) = query["l"], query["e"], query["s"]
    except (KeyError, ValueError):
        return None
    if not project.signer.verify(list_name, email, signature):
        return None
    return list_name, email


def _form(environ: dict[str, Any]) -> dict[str, list[str]]:
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    return parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
