"""The preferences page, linked from every email's footer (its reader's token, the
same as their unsubscribe link's):

    GET   the lists of this project the reader is on, left, or may join (a list
          with `signup = true`), each with a button; and "unsubscribe from
          everything". Changes nothing (mail scanners fetch links).
    POST  one button: leave a list (recorded in the state: that list no longer
          includes them, whatever its file says), join one (back on a list they
          left; or a confirmed signup, form "preferences": the token proves the
          mailbox), leave all (an unsubscribe, as the one-click link's), or
          subscribe again after leaving all (only an unsubscribe: a bounce or a
          removal is not the reader's to lift).

The buttons carry a token bound to the reader and are refused from another site's
page (403), as the unsubscribe page's are.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any
from urllib.parse import parse_qs

from newsletter.audience.rows import find_members
from newsletter.audience.suppressions import UNSUBSCRIBED
from newsletter.project import Project
from newsletter.web.pages import Page, Start
from newsletter.web.preferences_words import PREFERENCES_WORDS
from newsletter.web.signup_words import SIGNUP_WORDS

MAX_BODY = 4_096
SOURCE = "preferences"


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

    def _lists(self) -> list[tuple[str, str, str]]:
        """(list, its title, on | left | off) of every list shown to this reader."""
        state, settings = self.project.state, self.project.settings
        left = state.leaves.of_address(self.email)
        shown = []
        for name in self.project.list_names():
            wanted = settings.list_settings(name)
            if name in left:
                where = "left"
            elif find_members(self.project, name, [self.email]):
                where = "on"
            elif wanted.signup:
                where = "off"
            else:
                continue  # a list they are not on and may not join: not theirs to see
            shown.append((name, wanted.title or name, where))
        return shown

    def show(self, start: Start, saved: str = "") -> Iterable[bytes]:
        page, say = self.page, self.page.say
        token = self.project.signer.token("preferences", self.key)
        hidden = f'<input type="hidden" name="token" value="{escape(token)}">'
        action = escape(_here(self.environ))
        note = f'<p class="saved" role="status">{saved}</p>' if saved else ""
        found = self.project.state.suppressions.get(self.email)
        if found is not None:
            if found.reason != UNSUBSCRIBED:
                body = f"{note}<p>{say('prefs_kept', email=self.email)}</p>"
                return page.show(start, "200 OK", say("prefs_title"), body)
            body = (f"{note}<p>{say('prefs_all_off', email=self.email)}</p>"
                    f'<form method="post" action="{action}">{hidden}'
                    f'<button type="submit" name="a" value="back">{say("prefs_back")}</button>'
                    "</form>")  # fmt: skip
            return page.show(start, "200 OK", say("prefs_title"), body)
        rows = []
        for name, title, where in self._lists():
            verb, label = ("leave", "prefs_leave") if where == "on" else ("join", "prefs_join")
            state = {"on": "prefs_on", "left": "prefs_left", "off": "prefs_off"}[where]
            css = "" if where == "on" else ' class="secondary"'
            rows.append(
                f'<li><span class="list-name">{escape(title)}</span> '
                f'<span class="small">{say(state)}</span>'
                f'<form method="post" action="{action}">{hidden}'
                f'<input type="hidden" name="list" value="{escape(name)}">'
                f'<button type="submit" name="a" value="{verb}"{css}>{say(label)}</button>'
                "</form></li>"
            )
        body = (f"{note}<p>{say('prefs_intro', email=self.email)}</p>"
                f'<ul class="lists">{"".join(rows)}</ul>'
                f'<p class="small">{say("prefs_all_intro")}</p>'
                f'<form method="post" action="{action}">{hidden}'
                f'<button type="submit" name="a" value="all" class="secondary">'
                f'{say("prefs_leave_all")}</button></form>')  # fmt: skip
        return page.show(start, "200 OK", say("prefs_title"), body)

    def act(self, start: Start) -> Iterable[bytes]:
        page, say = self.page, self.page.say
        form = _form(self.environ)
        token, action = form.get("token", ""), form.get("a", "")
        cross = self.environ.get("HTTP_SEC_FETCH_SITE", "").lower() == "cross-site"
        if cross or not self.project.signer.check_token(token, "preferences", self.key):
            return page.answer(start, "403 Forbidden", "stale_title", page.text("stale"))
        state, now = self.project.state, self.project.clock.now()
        name = form.get("list", "")
        shown = {n: (title, where) for n, title, where in self._lists()}
        if action == "all":
            state.suppressions.add(self.email, UNSUBSCRIBED, SOURCE, now)
            return self.show(start, say("prefs_saved_all"))
        if action == "back":
            found = state.suppressions.get(self.email)
            if found is not None and found.reason == UNSUBSCRIBED:
                state.suppressions.lift(self.email, SOURCE, "the reader subscribed again on "
                                        "the preferences page", now)  # fmt: skip
            return self.show(start, say("prefs_saved_back"))
        if action not in ("leave", "join") or name not in shown:
            return page.answer(start, "400 Bad Request", "bad_title", page.text("bad"))
        title, where = shown[name]
        if action == "leave" and where == "on":
            state.leaves.add(name, self.email, SOURCE, now)
        elif action == "join" and where == "left":
            state.leaves.remove(name, self.email)
        elif action == "join" and where == "off":
            welcome = bool(self.project.settings.list_settings(name).welcome)
            asked = state.signups.ask(name, self.email, {}, SOURCE, "", now, mail=False)
            state.signups.confirm(asked.n, "", None, now, welcome)
        saved = "prefs_saved_left" if action == "leave" else "prefs_saved_joined"
        return self.show(start, say(saved, list=title))


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
