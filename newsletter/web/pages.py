"""The pages the audience sees: one small HTML document each, in the newsletter's
language (English, German, French, Spanish; English otherwise), with no external
assets, under a locked-down Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from newsletter.settings import NewsletterSettings

Start = Callable[[str, list[tuple[str, str]]], Any]
HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("Referrer-Policy", "no-referrer"),  # the URL names the subscriber
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
]  # fmt: skip

# The pages' words, by language; English for any other.
WORDS: dict[str, dict[str, str]] = {
    "en": {
        "missing_title": "Nothing here",
        "missing": "This address is not a page of {newsletter}.",
        "down_title": "Please try again in a minute",
        "down": "Nothing was changed: {newsletter} cannot record it right now. Open "
        "the link again in a minute.",
        "confirm_title": "Unsubscribe?",
        "confirm": "Stop sending {newsletter} to {email}?",
        "button": "Unsubscribe",
        "done_title": "You are unsubscribed",
        "done": "{email} will not get {newsletter} again.",
        "undo": "Unsubscribed by mistake?",
        "resubscribe": "Subscribe again",
        "again_title": "You are subscribed again",
        "again": "{email} will get {newsletter} again.",
        "bad_title": "This link does not work",
        "bad": "This unsubscribe link is incomplete or has been changed. Use the link in "
        "the latest email from {newsletter}, or reply to it and ask.",
        "kept": "{email} stays unsubscribed from {newsletter} (the reason is not an "
        "unsubscribe link, so it cannot be undone here). Reply to an email to ask.",
        "stale_title": "This button has expired",
        "stale": "Nothing was changed. Open the unsubscribe link in the latest email from "
        "{newsletter} and use the button on that page.",
    },
    "de": {
        "missing_title": "Hier ist nichts",
        "missing": "Diese Adresse ist keine Seite von {newsletter}.",
        "down_title": "Bitte versuchen Sie es gleich noch einmal",
        "down": "Es wurde nichts geändert: {newsletter} kann es gerade nicht "
        "speichern. Öffnen Sie den Link in einer Minute erneut.",
        "confirm_title": "Abmelden?",
        "confirm": "{newsletter} nicht mehr an {email} senden?",
        "button": "Abmelden",
        "done_title": "Sie sind abgemeldet",
        "done": "{email} erhält {newsletter} nicht mehr.",
        "undo": "Versehentlich abgemeldet?",
        "resubscribe": "Wieder anmelden",
        "again_title": "Sie sind wieder angemeldet",
        "again": "{email} erhält {newsletter} wieder.",
        "bad_title": "Dieser Link funktioniert nicht",
        "bad": "Dieser Abmeldelink ist unvollständig oder wurde verändert. Nutzen Sie den "
        "Link in der neuesten E-Mail von {newsletter}, oder antworten Sie darauf.",
        "kept": "{email} bleibt von {newsletter} abgemeldet (nicht über einen Abmeldelink, "
        "daher hier nicht rückgängig zu machen). Antworten Sie auf eine E-Mail.",
        "stale_title": "Diese Schaltfläche ist abgelaufen",
        "stale": "Es wurde nichts geändert. Öffnen Sie den Abmeldelink in der neuesten "
        "E-Mail von {newsletter} und nutzen Sie die Schaltfläche auf jener Seite.",
    },
    "fr": {
        "missing_title": "Rien ici",
        "missing": "Cette adresse n'est pas une page de {newsletter}.",
        "down_title": "Réessayez dans une minute",
        "down": "Rien n'a été modifié : {newsletter} ne peut pas l'enregistrer pour le "
        "moment. Rouvrez le lien dans une minute.",
        "confirm_title": "Se désabonner ?",
        "confirm": "Ne plus envoyer {newsletter} à {email} ?",
        "button": "Se désabonner",
        "done_title": "Vous êtes désabonné",
        "done": "{email} ne recevra plus {newsletter}.",
        "undo": "Désabonné par erreur ?",
        "resubscribe": "Se réabonner",
        "again_title": "Vous êtes réabonné",
        "again": "{email} recevra de nouveau {newsletter}.",
        "bad_title": "Ce lien ne fonctionne pas",
        "bad": "Ce lien de désabonnement est incomplet ou a été modifié. Utilisez le lien du "
        "dernier e-mail de {newsletter}, ou répondez-y.",
        "kept": "{email} reste désabonné de {newsletter} (pas par un lien de désabonnement : "
        "impossible de l'annuler ici). Répondez à un e-mail pour le demander.",
        "stale_title": "Ce bouton a expiré",
        "stale": "Rien n'a été modifié. Ouvrez le lien de désabonnement du dernier e-mail de "
        "{newsletter} et utilisez le bouton de cette page.",
    },
    "es": {
        "missing_title": "Aquí no hay nada",
        "missing": "Esta dirección no es una página de {newsletter}.",
        "down_title": "Inténtelo de nuevo en un minuto",
        "down": "No se ha cambiado nada: {newsletter} no puede registrarlo ahora. Abra "
        "el enlace de nuevo en un minuto.",
        "confirm_title": "¿Darse de baja?",
        "confirm": "¿Dejar de enviar {newsletter} a {email}?",
        "button": "Darse de baja",
        "done_title": "Se ha dado de baja",
        "done": "{email} no volverá a recibir {newsletter}.",
        "undo": "¿Se dio de baja por error?",
        "resubscribe": "Suscribirse de nuevo",
        "again_title": "Vuelve a estar suscrito",
        "again": "{email} volverá a recibir {newsletter}.",
        "bad_title": "Este enlace no funciona",
        "bad": "Este enlace de baja está incompleto o ha sido modificado. Use el enlace del "
        "último correo de {newsletter}, o responda a él.",
        "kept": "{email} sigue dado de baja de {newsletter} (no fue con un enlace de baja, "
        "así que no se puede deshacer aquí). Responda a un correo para pedirlo.",
        "stale_title": "Este botón ha caducado",
        "stale": "No se ha cambiado nada. Abra el enlace de baja del último correo de "
        "{newsletter} y use el botón de esa página.",
    },
}


def words(language: str) -> dict[str, str]:
    return WORDS.get(language.split("-")[0].lower(), WORDS["en"])


class Page:
    def __init__(
        self, settings: NewsletterSettings, more: dict[str, dict[str, str]] | None = None
    ) -> None:
        """`more`: other pages' words, by language (English for any other)."""
        self.settings = settings
        self.words = words(settings.language)
        if more:
            language = settings.language.split("-")[0].lower()
            self.words = {**self.words, **more.get(language, more["en"])}

    def text(self, key: str, email: str = "") -> str:
        return self.say(key, email=email)

    def say(self, key: str, **values: str) -> str:
        """The word `key`, its {names} filled in, escaped for the page."""
        return escape(self.words[key].format(newsletter=self.settings.name, **values))

    def confirm(self, environ: dict[str, Any], email: str, token: str) -> str:
        action = escape(_self_url(environ))
        return (f"<p>{self.text('confirm', email)}</p>"
                f'<form method="post" action="{action}">'
                f'<input type="hidden" name="token" value="{escape(token)}">'
                f'<button type="submit" name="confirm" value="1">{escape(self.words["button"])}'
                "</button></form>")  # fmt: skip

    def done(self, environ: dict[str, Any], email: str, token: str | None) -> str:
        """The done page; with `token`, a way back (only for the request that made
        the suppression)."""
        done = f"<p>{self.text('done', email)}</p>"
        if token is None:
            return done
        action = escape(_self_url(environ) + "&a=resubscribe")
        return (f"{done}<p>{escape(self.words['undo'])}</p>"
                f'<form method="post" action="{action}">'
                f'<input type="hidden" name="token" value="{escape(token)}">'
                f'<button type="submit" class="secondary">{escape(self.words["resubscribe"])}'
                "</button></form>")  # fmt: skip

    def answer(
        self,
        start: Start,
        status: str,
        title_key: str,
        body: str,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> list[bytes]:
        return self.show(start, status, escape(self.words[title_key]), body, headers)

    def show(
        self,
        start: Start,
        status: str,
        title: str,
        body: str,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> list[bytes]:
        """A page whose title (`title`, escaped already) is not one word of its own."""
        name = escape(self.settings.name)
        html = (
            f'<!DOCTYPE html><html lang="{escape(self.settings.language)}" '
            f'dir="{self.settings.direction}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title} · {name}</title><style>{STYLE}</style></head><body><main>"
            f"<p class=name>{name}</p><h1>{title}</h1>{body}</main></body></html>"
        )
        data = html.encode()
        start(status, [*HEADERS, *headers, ("Content-Length", str(len(data)))])
        return [data]


def _self_url(environ: dict[str, Any]) -> str:
    query = environ.get("QUERY_STRING", "")
    query = "&".join(p for p in query.split("&") if not p.startswith("a="))
    return f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}?{query}"


STYLE = (
    ":root{color-scheme:light dark}body{margin:0;font:17px/1.5 system-ui,-apple-system,"
    "'Segoe UI',Roboto,sans-serif;background:#f3f4f6;color:#111827}main{max-width:32rem;"
    "margin:10vh auto;padding:2rem;background:#fff;border-radius:12px}.name{margin:0;"
    "color:#4b5563;font-size:.9rem;text-transform:uppercase;letter-spacing:.05em}h1{font-size:"
    "1.5rem;margin:.25rem 0 1rem}button{font:inherit;padding:.6rem 1.2rem;border-radius:8px;"
    "border:0;background:#1d4ed8;color:#fff;cursor:pointer}button.secondary{background:"
    "transparent;color:#1d4ed8;border:1px solid #1d4ed8}button:focus-visible{outline:3px "
    "solid #93c5fd;outline-offset:2px}label{display:block;font-weight:600;margin:1rem 0 .3rem}"
    "input{box-sizing:border-box;width:100%;font:inherit;padding:.55rem .7rem;border:1px solid "
    "#6b7280;border-radius:8px;background:#fff;color:#111827}input:focus-visible{outline:3px "
    "solid #93c5fd;outline-offset:1px}form button{margin-top:1.25rem}.small{font-size:.9rem;"
    "color:#4b5563}.error{color:#b91c1c;font-weight:600}.optional{font-weight:400;color:#4b5563}"
    ".hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}"
    ".lists{list-style:none;padding:0;margin:1rem 0}.lists li{display:flex;flex-wrap:wrap;"
    "align-items:center;gap:.25rem .75rem;padding:.75rem 0;border-top:1px solid #e5e7eb}"
    ".lists form{margin-left:auto}.lists form button{margin:0}.list-name{font-weight:600}"
    ".saved{padding:.6rem .8rem;border-radius:8px;background:#ecfdf5;color:#065f46}"
    "@media (prefers-color-scheme:dark){body{background:"
    "#030712;color:#f9fafb}main{background:#111827}.name{color:#9ca3af}button.secondary{"
    "color:#93c5fd;border-color:#93c5fd}input{background:#030712;color:#f9fafb;border-color:"
    "#9ca3af}.small,.optional{color:#9ca3af}.error{color:#fca5a5}.lists li{border-color:"
    "#374151}.saved{background:#064e3b;color:#d1fae5}}"
)
