"""The preferences page's words, by language (English for any other)."""

from __future__ import annotations

PREFERENCES_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "prefs_forgotten": "{email} asked {newsletter} to forget it: nothing of it is kept here. "
        "To get {newsletter} again, sign up on its site.",
        "prefs_title": "Your subscriptions",
        "prefs_intro": "Choose what {newsletter} sends to {email}.",
        "prefs_on": "You get it.",
        "prefs_off": "You do not get it.",
        "prefs_left": "You left it.",
        "prefs_leave": "Leave",
        "prefs_join": "Join",
        "prefs_all_intro": "Or stop every email from {newsletter}:",
        "prefs_leave_all": "Unsubscribe from everything",
        "prefs_all_off": "{email} gets no email from {newsletter}: it unsubscribed from "
        "everything.",
        "prefs_back": "Subscribe again",
        "prefs_kept": "{email} gets no email from {newsletter} (mail to it was refused, or "
        "it was removed). Reply to an email from {newsletter} to ask.",
        "prefs_saved_left": "Saved: you left {list}.",
        "prefs_saved_joined": "Almost: press the button in the email we are sending to {email} to "
        "join {list}.",
        "prefs_saved_all": "Saved: you are unsubscribed from everything.",
        "prefs_saved_back": "Almost: press the button in the email we are sending to {email} to "
        "get {list} again.",
    },
    "de": {
        "prefs_forgotten": "{email} hat {newsletter} gebeten, die Adresse zu vergessen: hier ist "
        "nichts davon gespeichert. Melden Sie sich auf der Website erneut an.",
        "prefs_title": "Ihre Abonnements",
        "prefs_intro": "Wählen Sie, was {newsletter} an {email} sendet.",
        "prefs_on": "Sie erhalten ihn.",
        "prefs_off": "Sie erhalten ihn nicht.",
        "prefs_left": "Sie haben ihn verlassen.",
        "prefs_leave": "Verlassen",
        "prefs_join": "Abonnieren",
        "prefs_all_intro": "Oder keine E-Mails von {newsletter} mehr:",
        "prefs_leave_all": "Von allem abmelden",
        "prefs_all_off": "{email} erhält keine E-Mails von {newsletter}: von allem abgemeldet.",
        "prefs_back": "Wieder anmelden",
        "prefs_kept": "{email} erhält keine E-Mails von {newsletter} (E-Mails wurden "
        "abgewiesen, oder die Adresse wurde entfernt). Antworten Sie auf eine E-Mail.",
        "prefs_saved_left": "Gespeichert: Sie haben {list} verlassen.",
        "prefs_saved_joined": "Fast geschafft: Drücken Sie die Schaltfläche in der E-Mail, die wir "
        "an {email} senden, um {list} zu abonnieren.",
        "prefs_saved_all": "Gespeichert: Sie sind von allem abgemeldet.",
        "prefs_saved_back": "Fast geschafft: Drücken Sie die Schaltfläche in der E-Mail, die wir "
        "an {email} senden, um {list} wieder zu erhalten.",
    },
    "fr": {
        "prefs_forgotten": "{email} a demandé à {newsletter} de l'oublier : rien n'en est gardé "
        "ici. Pour recevoir de nouveau {newsletter}, inscrivez-vous sur son site.",
        "prefs_title": "Vos abonnements",
        "prefs_intro": "Choisissez ce que {newsletter} envoie à {email}.",
        "prefs_on": "Vous la recevez.",
        "prefs_off": "Vous ne la recevez pas.",
        "prefs_left": "Vous l'avez quittée.",
        "prefs_leave": "Quitter",
        "prefs_join": "S'abonner",
        "prefs_all_intro": "Ou ne plus rien recevoir de {newsletter} :",
        "prefs_leave_all": "Me désabonner de tout",
        "prefs_all_off": "{email} ne reçoit rien de {newsletter} : désabonné de tout.",
        "prefs_back": "Me réabonner",
        "prefs_kept": "{email} ne reçoit rien de {newsletter} (les e-mails ont été refusés, "
        "ou l'adresse a été retirée). Répondez à un e-mail pour le demander.",
        "prefs_saved_left": "Enregistré : vous avez quitté {list}.",
        "prefs_saved_joined": "Presque : appuyez sur le bouton de l'e-mail que nous envoyons à "
        "{email} pour vous abonner à {list}.",
        "prefs_saved_all": "Enregistré : vous êtes désabonné de tout.",
        "prefs_saved_back": "Presque : appuyez sur le bouton de l'e-mail que nous envoyons à "
        "{email} pour recevoir de nouveau {list}.",
    },
    "es": {
        "prefs_forgotten": "{email} pidió a {newsletter} que la olvidara: aquí no se guarda nada. "
        "Para volver a recibir {newsletter}, suscríbete en su sitio.",
        "prefs_title": "Tus suscripciones",
        "prefs_intro": "Elige lo que {newsletter} envía a {email}.",
        "prefs_on": "La recibes.",
        "prefs_off": "No la recibes.",
        "prefs_left": "La dejaste.",
        "prefs_leave": "Dejar",
        "prefs_join": "Suscribirme",
        "prefs_all_intro": "O no recibir nada más de {newsletter}:",
        "prefs_leave_all": "Darme de baja de todo",
        "prefs_all_off": "{email} no recibe nada de {newsletter}: se dio de baja de todo.",
        "prefs_back": "Suscribirme de nuevo",
        "prefs_kept": "{email} no recibe nada de {newsletter} (el correo fue rechazado, o "
        "la dirección fue retirada). Responde a un correo para pedirlo.",
        "prefs_saved_left": "Guardado: dejaste {list}.",
        "prefs_saved_joined": "Casi listo: pulsa el botón del correo que enviamos a {email} para "
        "suscribirte a {list}.",
        "prefs_saved_all": "Guardado: te diste de baja de todo.",
        "prefs_saved_back": "Casi listo: pulsa el botón del correo que enviamos a {email} para "
        "volver a recibir {list}.",
    },
}
