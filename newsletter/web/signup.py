"""The signup pages, under the pages' path (beside the unsubscribe link's):

    GET  subscribe/LIST           the form (email and the list's [lists.NAME] fields)
    POST subscribe/LIST           from that form (its token), or from a page of a site in
                                  [serve] allowed_origins (the snippet, or JavaScript:
                                  a JSON answer, CORS for those origins only)
    OPTIONS subscribe/LIST        CORS preflight, for those origins
    GET  subscribe/LIST/confirm   the confirmation link: a page with one button;
                                  changes nothing (mail scanners fetch links)
    POST subscribe/LIST/confirm   the button: confirms the signup

Abuse: a honeypot field (a bot that fills it is answered as anyone, and nothing is
recorded), the rate limits (per client and per address, in the state: 429), a size
limit on the body and on every field (413), the same answer for any address (no
list enumeration), a token on the project's own form and Sec-Fetch-Site against
cross-site posts (403). A list without `signup = true` has no pages (404).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from html import escape
from typing import Any
from urllib.parse import parse_qs

from newsletter.addresses import BadAddress, normalise_address
from newsletter.audience import signup as signups
from newsletter.audience.signup import FORM_PAGE, MAX_EMAIL, MAX_FIELD
from newsletter.project import Project
from newsletter.settings import ListSettings
from newsletter.web.pages import HEADERS, Page, Start
from newsletter.web.signup_words import SIGNUP_WORDS

MAX_BODY = 8_192  # bytes of a signup's body: far more than any honest form sends
HONEYPOT = "website"  # a field people never see, that form-filling bots fill in
FORM_HOURS = 24  # how long the form's token is good for
CLOCK_SKEW = 300  # seconds a token may seem to come from the future (another host's clock)
_ISSUED = re.compile(r"[0-9]{1,12}")


class _TooBig(Exception):
    pass


def signup(
    project: Project, environ: dict[str, Any], start: Start, list_name: str, rest: str
) -> Iterable[bytes]:
    """One request for list `list_name`'s pages (`rest`: "" or "confirm")."""
    page = Page(project.settings.newsletter, SIGNUP_WORDS)
    wanted = project.settings.list_settings(list_name)
    # the form only for a list that takes signups; the confirmation link for any list
    # (a reader joins one on the preferences page by it too)
    known = (wanted.signup or rest == "confirm") and project.list_path(list_name).is_file()
    if not known or rest not in ("", "confirm"):
        return page.answer(start, "404 Not Found", "missing_title", page.text("missing"))
    method = environ["REQUEST_METHOD"]
    allowed = "GET, HEAD, POST" + ("" if rest else ", OPTIONS")
    if method not in allowed.split(", "):
        start("405 Method Not Allowed", [("Allow", allowed), *HEADERS])
        return [b""]
    view = _View(project, environ, start, page, list_name, wanted)
    if rest == "confirm":
        return view.confirm_post() if method == "POST" else view.confirm_get()
    if method == "OPTIONS":
        return view.preflight()
    return view.post() if method == "POST" else view.form()


class _View:
    def __init__(
        self,
        project: Project,
        environ: dict[str, Any],
        start: Start,
        page: Page,
        list_name: str,
        wanted: ListSettings,
    ) -> None:
        self.project, self.environ, self.start, self.page = project, environ, start, page
        self.list_name, self.wanted = list_name, wanted
        self.title = wanted.title or project.settings.newsletter.name
        origin = environ.get("HTTP_ORIGIN", "").lower()
        self.origin = origin if origin in project.settings.serve.allowed_origins else ""
        self.json = "application/json" in environ.get("HTTP_ACCEPT", "") or environ.get(
            "CONTENT_TYPE", ""
        ).startswith("application/json")

    # --- the form ---

    def form(self, error: str = "", values: dict[str, str] | None = None,
             status: str = "200 OK") -> Iterable[bytes]:  # fmt: skip
        page, values = self.page, values or {}
        issued = str(int(self.project.clock.now().timestamp()))
        token = f"{issued}.{self.project.signer.token('signup-form', self.list_name, issued)}"
        inputs = [_input("email", "email", page.words["email_label"], values.get("email", ""),
                         "email", MAX_EMAIL, required=True)]  # fmt: skip
        for name in self.wanted.fields:
            label = page.words["name_label"] if name == "name" else name.replace("_", " ").title()
            auto = "name" if name == "name" else "off"
            inputs.append(_input(name, "text", label, values.get(name, ""), auto, MAX_FIELD,
                                 optional=page.words["field_optional"]))  # fmt: skip
        alert = f'<p class="error" role="alert" id="error">{escape(error)}</p>' if error else ""
        intro = escape(self.wanted.description) or page.say("signup_intro", list=self.title)
        body = (
            f"<p>{intro}</p>{alert}"
            f'<form method="post" action="{escape(_here(self.environ))}" novalidate>'
            f'<input type="hidden" name="token" value="{escape(token)}">'
            f"{''.join(inputs)}"
            f'<div class="hp" aria-hidden="true"><label for="{HONEYPOT}">Website</label>'
            f'<input id="{HONEYPOT}" name="{HONEYPOT}" type="text" tabindex="-1" '
            'autocomplete="off"></div>'
            f'<button type="submit">{escape(page.words["subscribe"])}</button></form>'
            f'<p class="small">{page.say("privacy")}</p>'
        )
        heading = page.say("signup_title", list=self.title)
        return self._answer(status, heading, body)

    def post(self) -> Iterable[bytes]:
        try:
            form = self._body()
        except _TooBig:
            return self._refuse("413 Content Too Large", "too_big_title", "too_big")
        own = self._own_form(form.get("token", ""))
        if not own and not self.origin:
            return self._refuse("403 Forbidden", "forbidden_title", "forbidden")
        raw_email = form.get("email", "").strip()
        values = {name: form.get(name, "").strip() for name in self.wanted.fields}
        if len(raw_email) > MAX_EMAIL or any(len(v) > MAX_FIELD for v in values.values()):
            return self._refuse("413 Content Too Large", "too_big_title", "too_big")
        try:
            email = normalise_address(raw_email)
        except BadAddress:
            if self.json or not own:
                return self._json_or_page("400 Bad Request", "invalid_email", field="email")
            return self.form(self.page.words["invalid_email"], {"email": raw_email, **values},
                             "400 Bad Request")  # fmt: skip
        client = self.environ.get("REMOTE_ADDR", "")
        bot = bool(form.get(HONEYPOT))  # counted like anyone, recorded never
        where = FORM_PAGE if own else self.origin
        asked = signups.ask(self.project, self.list_name, email, values, where, client,
                            record=not bot)  # fmt: skip
        if asked.limited:
            return self._refuse("429 Too Many Requests", "limited_title", "limited",
                                (("Retry-After", "3600"),))  # fmt: skip
        wake = self.environ.get("newsletter.mailer")
        if asked.recorded and callable(wake):
            wake()
        if self.json:
            return self._json("200 OK", {"ok": True, "status": "check-inbox",
                                         "message": self.page.words["check_title"]})  # fmt: skip
        return self._answer("200 OK", self.page.say("check_title"),
                            f"<p>{self.page.say('check', email=email)}</p>")  # fmt: skip

    def preflight(self) -> Iterable[bytes]:
        if not self.origin:
            return self._refuse("403 Forbidden", "forbidden_title", "forbidden")
        self.start("204 No Content", [
            *self._cors(), ("Access-Control-Allow-Methods", "POST"),
            ("Access-Control-Allow-Headers", "Content-Type, Accept"),
            ("Access-Control-Max-Age", "86400"), ("Cache-Control", "no-store"),
        ])  # fmt: skip
        return [b""]

    # --- the confirmation link ---

    def confirm_get(self) -> Iterable[bytes]:
        token = self._link_token()
        looked = signups.look(self.project, self.list_name, token)
        if looked.outcome != signups.READY or looked.signup is None:
            return self._looked(looked)
        page = self.page
        check = self.project.signer.token("signup-confirm", self.list_name, token)
        body = (
            f"<p>{page.say('confirm_signup', email=looked.signup.email, list=self.title)}</p>"
            f'<form method="post" action="{escape(_here(self.environ))}">'
            f'<input type="hidden" name="check" value="{escape(check)}">'
            f'<button type="submit" name="confirm" value="1">'
            f"{escape(page.words['confirm_signup_button'])}</button></form>"
        )
        return self._answer("200 OK", page.say("confirm_signup_title"), body)

    def confirm_post(self) -> Iterable[bytes]:
        token = self._link_token()
        try:
            form = self._body()
        except _TooBig:
            return self._refuse("413 Content Too Large", "too_big_title", "too_big")
        if signups.look(self.project, self.list_name, token).outcome == signups.BAD:
            return self._refuse("400 Bad Request", "bad_link_title", "bad_link")
        check = form.get("check", "")
        if _cross_site(self.environ) or not self.project.signer.check_token(
            check, "signup-confirm", self.list_name, token
        ):
            return self._refuse("403 Forbidden", "use_button_title", "use_button")
        client = self.environ.get("REMOTE_ADDR", "")
        looked = signups.confirm(self.project, self.list_name, token, client)
        return self._looked(looked)

    def _looked(self, looked: signups.Looked) -> Iterable[bytes]:
        page, signup = self.page, looked.signup
        email = signup.email if signup else ""
        if looked.outcome == signups.CONFIRMED:
            done = page.say("confirmed", email=email, list=self.title)
            return self._answer("200 OK", page.say("confirmed_title"), f"<p>{done}</p>")
        found = {
            signups.AGAIN: ("200 OK", "confirmed_again_title", "confirmed_again"),
            signups.EXPIRED: ("400 Bad Request", "expired_title", "expired"),
            signups.SUPPRESSED: ("200 OK", "blocked_title", "blocked"),
        }
        status, title, text = found.get(looked.outcome, ("400 Bad Request", "bad_link_title",
                                                         "bad_link"))  # fmt: skip
        return self._refuse(status, title, text)

    # --- the parts ---

    def _link_token(self) -> str:
        query = parse_qs(self.environ.get("QUERY_STRING", ""), keep_blank_values=True)
        found = query.get("t", [""])
        return found[0][:100] if len(found) == 1 else ""

    def _own_form(self, token: str) -> bool:
        """A post from the project's own form page: its token, recent, and not sent
        by another site's page."""
        issued, _, mac = token.partition(".")
        if not _ISSUED.fullmatch(issued) or _cross_site(self.environ):
            return False
        age = self.project.clock.now().timestamp() - int(issued)
        if not -CLOCK_SKEW <= age <= FORM_HOURS * 3600:  # hosts' clocks differ a little
            return False
        return self.project.signer.check_token(mac, "signup-form", self.list_name, issued)

    def _body(self) -> dict[str, str]:
        """The posted fields (form-encoded or a JSON object), each given once."""
        try:
            length = int(self.environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            raise _TooBig
        data = self.environ["wsgi.input"].read(length) if length > 0 else b""
        text = data.decode("utf-8", "replace")
        if self.environ.get("CONTENT_TYPE", "").startswith("application/json"):
            try:
                found = json.loads(text) if text.strip() else {}
            except (ValueError, RecursionError):  # not JSON, or nested past any form's
                return {}
            if not isinstance(found, dict):
                return {}
            return {str(k): v for k, v in found.items() if isinstance(v, str)}
        fields = parse_qs(text, keep_blank_values=True)
        return {key: values[0] for key, values in fields.items() if len(values) == 1}

    def _cors(self) -> list[tuple[str, str]]:
        if not self.origin:
            return [("Vary", "Origin")]
        return [("Access-Control-Allow-Origin", self.origin), ("Vary", "Origin")]

    def _answer(self, status: str, title: str, body: str,
                headers: tuple[tuple[str, str], ...] = ()) -> Iterable[bytes]:  # fmt: skip
        return self.page.show(self.start, status, title, body, (*self._cors(), *headers))

    def _refuse(self, status: str, title_key: str, text_key: str,
                headers: tuple[tuple[str, str], ...] = ()) -> Iterable[bytes]:  # fmt: skip
        if self.json:
            return self._json(status, {"ok": False, "status": text_key,
                                       "message": self.page.words[text_key]}, headers)  # fmt: skip
        return self._answer(status, self.page.say(title_key), f"<p>{self.page.say(text_key)}</p>",
                            headers)  # fmt: skip

    def _json_or_page(self, status: str, key: str, field: str) -> Iterable[bytes]:
        if self.json:
            return self._json(status, {"ok": False, "status": key, "field": field,
                                       "message": self.page.words[key]})  # fmt: skip
        return self._answer(status, self.page.say("signup_title", list=self.title),
                            f'<p class="error">{self.page.say(key)}</p>')  # fmt: skip

    def _json(self, status: str, data: dict[str, object],
              headers: tuple[tuple[str, str], ...] = ()) -> Iterable[bytes]:  # fmt: skip
        body = json.dumps(data, ensure_ascii=False).encode()
        self.start(status, [
            ("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"), ("Content-Length", str(len(body))),
            *self._cors(), *headers,
        ])  # fmt: skip
        return [body]


def _input(name: str, kind: str, label: str, value: str, auto: str, size: int,
           required: bool = False, optional: str = "") -> str:  # fmt: skip
    extra = " required" if required else ""
    tail = f' <span class="optional">{escape(optional)}</span>' if optional else ""
    return (f'<label for="{name}">{escape(label)}{tail}</label>'
            f'<input id="{name}" name="{name}" type="{kind}" value="{escape(value)}" '
            f'autocomplete="{auto}" maxlength="{size}"{extra}>')  # fmt: skip


def _here(environ: dict[str, Any]) -> str:
    query = environ.get("QUERY_STRING", "")
    path = f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}"
    return f"{path}?{query}" if query else path


def _cross_site(environ: dict[str, Any]) -> bool:
    return environ.get("HTTP_SEC_FETCH_SITE", "").lower() == "cross-site"


def snippet(project: Project, list_name: str, action: str) -> str:
    """The HTML to paste into a page of the editor's own site (its origin must be in
    [serve] allowed_origins): a plain form that posts to `action`."""
    wanted = project.settings.list_settings(list_name)
    words = Page(project.settings.newsletter, SIGNUP_WORDS).words
    lines = [f'<form method="post" action="{escape(action)}" class="newsletter-signup">',
             f'  <label for="nl-email">{escape(words["email_label"])}</label>',
             f'  <input id="nl-email" name="email" type="email" autocomplete="email" '
             f'maxlength="{MAX_EMAIL}" required>']  # fmt: skip
    for name in wanted.fields:
        label = words["name_label"] if name == "name" else name.replace("_", " ").title()
        auto = ' autocomplete="name"' if name == "name" else ""
        lines += [f'  <label for="nl-{name}">{escape(label)}</label>',
                  f'  <input id="nl-{name}" name="{name}" type="text" maxlength="{MAX_FIELD}"'
                  f"{auto}>"]  # fmt: skip
    button = escape(words["subscribe"])
    lines += ['  <div style="position:absolute;left:-10000px" aria-hidden="true">'
              f'<input name="{HONEYPOT}" type="text" tabindex="-1" autocomplete="off"></div>',
              f'  <button type="submit">{button}</button>', "</form>"]  # fmt: skip
    return "\n".join(lines)
