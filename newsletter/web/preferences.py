"""The preferences page, linked from every email's footer (its reader's token, the
same as their unsubscribe link's):

    GET   the lists of this project the reader is on, left, or may join, each with a
          button, and "unsubscribe from everything". Changes nothing (mail scanners
          fetch links).
    POST  one button: leave a list, leave all, join a list or come back (a signup
          with its double opt-in: see audience/preferences.py, the policy).

The buttons carry a token bound to the reader and are refused from another site's
page (403), as the unsubscribe page's are.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any
from urllib.parse import parse_qs

from newsletter.audience import preferences as policy
from newsletter.audience.suppressions import UNSUBSCRIBED
from newsletter.project import Project
from newsletter.web.pages import Page, Start
from newsletter.web.preferences_words import PREFERENCES_WORDS
from newsletter.web.signup_words import SIGNUP_WORDS

MAX_BODY = 4_096


def preferences(project: Project, environ: dict[str, Any], start: Start) -> Iterable[bytes]:
    words = {lang: {**SIGNUP_WORDS.get(lang, {}), **PREFERENCES_WORDS[lang]}
             for lang in PREFERENCES_WORDS}  # fmt: skip
    page = Page(project.settings.newsletter, words)
    method = environ["REQUEST_METHOD"]
    if method not in ("GET", "HEAD", "POST"):
        return page.answer(start, "405 Method Not Allowed", "missing_title", page.text("missing"),
                           (("Allow", "GET, HEAD, POST"),))  # fmt: skip
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    link = project.signer.read_link(query)
    if link is None:
        return page.answer(start, "400 Bad Request", "bad_title", page.text("bad"))
    view = _Preferences(project, page, environ, *link)
    if method != "POST":
        return view.show(start)
    return view.act(start)


class _Preferences:
    def __init__(
        self, project: Project, page: Page, environ: dict[str, Any], list_name: str, email: str
    ) -> None:
        self.project, self.page, self.environ = project, page, environ
        self.list_name, self.email, self.key = list_name, email, email.lower()

    def show(self, start: Start, saved: str = "") -> Iterable[bytes]:
        page, say = self.page, self.page.say
        title = say("prefs_title")
        if policy.is_forgotten(self.project, self.email):
            return page.show(
                start, "200 OK", title, f"<p>{say('prefs_forgotten', email=self.email)}</p>"
            )
        token = self.project.signer.token("preferences", self.key)
        hidden = f'<input type="hidden" name="token" value="{escape(token)}">'
        action = escape(_here(self.environ))
        note = f'<p class="saved" role="status">{saved}</p>' if saved else ""
        found = self.project.state.suppressions.get(self.email)
        if found is not None:
            if found.reason != UNSUBSCRIBED:
                body = f"{note}<p>{say('prefs_kept', email=self.email)}</p>"
                return page.show(start, "200 OK", title, body)
            body = (f"{note}<p>{say('prefs_all_off', email=self.email)}</p>"
                    f'<form method="post" action="{action}">{hidden}'
                    f'<button type="submit" name="a" value="back">{say("prefs_back")}</button>'
                    "</form>")  # fmt: skip
            return page.show(start, "200 OK", title, body)
        rows = []
        for found_list in policy.reader_lists(self.project, self.email):
            on = found_list.where == policy.ON
            verb, label = ("leave", "prefs_leave") if on else ("join", "prefs_join")
            state = {policy.ON: "prefs_on", policy.LEFT: "prefs_left",
                     policy.OFF: "prefs_off"}[found_list.where]  # fmt: skip
            css = "" if on else ' class="secondary"'
            rows.append(
                f'<li><span class="list-name">{escape(found_list.title)}</span> '
                f'<span class="small">{say(state)}</span>'
                f'<form method="post" action="{action}">{hidden}'
                f'<input type="hidden" name="list" value="{escape(found_list.name)}">'
                f'<button type="submit" name="a" value="{verb}"{css}>{say(label)}</button>'
                "</form></li>"
            )
        body = (f"{note}<p>{say('prefs_intro', email=self.email)}</p>"
                f'<ul class="lists">{"".join(rows)}</ul>'
                f'<p class="small">{say("prefs_all_intro")}</p>'
                f'<form method="post" action="{action}">{hidden}'
                f'<button type="submit" name="a" value="all" class="secondary">'
                f'{say("prefs_leave_all")}</button></form>')  # fmt: skip
        return page.show(start, "200 OK", title, body)

    def act(self, start: Start) -> Iterable[bytes]:
        page, say, project = self.page, self.page.say, self.project
        form = _form(self.environ)
        token, action = form.get("token", ""), form.get("a", "")
        cross = self.environ.get("HTTP_SEC_FETCH_SITE", "").lower() == "cross-site"
        if cross or not project.signer.check_token(token, "preferences", self.key):
            return page.answer(start, "403 Forbidden", "stale_title", page.text("stale"))
        if policy.is_forgotten(project, self.email):
            return self.show(start)  # nothing of it is kept, nothing is recorded
        client = self.environ.get("REMOTE_ADDR", "")
        found = project.state.suppressions.get(self.email)
        if action == "all":
            policy.leave_all(project, self.email)
            return self.show(start, say("prefs_saved_all"))
        if action == "back" and found is not None and found.reason == UNSUBSCRIBED:
            return self._joined(start, self.list_name, client, "prefs_saved_back")
        lists = {found_list.name: found_list for found_list in
                 policy.reader_lists(project, self.email)}  # fmt: skip
        chosen = lists.get(form.get("list", ""))
        if found is not None or action not in ("leave", "join") or chosen is None:
            return page.answer(start, "400 Bad Request", "bad_title", page.text("bad"))
        if action == "leave" and chosen.where == policy.ON:
            policy.leave(project, chosen.name, self.email)
            return self.show(start, say("prefs_saved_left", list=chosen.title))
        if action == "join" and chosen.where != policy.ON:
            return self._joined(start, chosen.name, client, "prefs_saved_joined")
        return self.show(start)  # pressed twice: as it is already

    def _joined(self, start: Start, name: str, client: str, said: str) -> Iterable[bytes]:
        """A join (or coming back), confirmed from the reader's inbox."""
        asked = policy.join(self.project, name, self.email, client)
        if asked.limited:
            page = self.page
            later = (("Retry-After", "3600"),)
            return page.show(start, "429 Too Many Requests", page.say("limited_title"),
                             f"<p>{page.say('limited')}</p>", later)  # fmt: skip
        wake = self.environ.get("newsletter.mailer")
        if asked.recorded and callable(wake):
            wake()
        title = self.project.settings.list_settings(name).title or name
        return self.show(start, self.page.say(said, email=self.email, list=title))


def _form(environ: dict[str, Any]) -> dict[str, str]:
    try:
        length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items() if len(values) == 1}


def _here(environ: dict[str, Any]) -> str:
    query = environ.get("QUERY_STRING", "")
    return f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}?{query}"
