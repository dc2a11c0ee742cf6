"""The signup pages' words, by language (English for any other): web/signup.py."""

from __future__ import annotations

SIGNUP_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "use_button_title": "Please press the button",
        "use_button": "Nothing changed. Open the link in the email again and press the "
        "button on its page.",
        "signup_title": "Subscribe to {list}",
        "signup_intro": "Get {list} by email. We send a link to confirm it first.",
        "email_label": "Email address",
        "name_label": "Name",
        "field_optional": "(optional)",
        "subscribe": "Subscribe",
        "privacy": "Every email has a link to unsubscribe.",
        "check_title": "Check your inbox",
        "check": "To finish, open the email we are sending to {email} and press its button. "
        "Nothing there in a few minutes? Look in the spam folder.",
        "invalid_email": "Please enter an email address such as name@example.com.",
        "too_big_title": "That is too long",
        "too_big": "One of the fields is longer than it may be. Nothing was recorded.",
        "limited_title": "Too many requests",
        "limited": "Nothing was recorded. Please try again in an hour.",
        "forbidden_title": "Please use the form",
        "forbidden": "Nothing was recorded: open the signup page of {newsletter} and use its form.",
        "confirm_signup_title": "Confirm your subscription",
        "confirm_signup": "Subscribe {email} to {list}?",
        "confirm_signup_button": "Yes, subscribe me",
        "confirmed_title": "You are subscribed",
        "confirmed": "{email} will get {list}. Welcome!",
        "confirmed_again_title": "Already confirmed",
        "confirmed_again": "This subscription was confirmed already. Nothing changed.",
        "expired_title": "This link has expired",
        "expired": "Nothing changed. Sign up again to get a new link.",
        "blocked_title": "This address cannot be subscribed here",
        "blocked": "Nothing changed: mail to this address was refused before, or it asked "
        "not to get {newsletter}. Reply to an email from {newsletter} to ask.",
        "bad_link_title": "This link does not work",
        "bad_link": "This confirmation link is incomplete or has been changed. Nothing "
        "changed. Use the link in the latest email, or sign up again.",
    },
    "de": {
        "use_button_title": "Bitte drücken Sie die Schaltfläche",
        "use_button": "Es wurde nichts geändert. Öffnen Sie den Link der E-Mail erneut "
        "und drücken Sie die Schaltfläche auf jener Seite.",
        "signup_title": "{list} abonnieren",
        "signup_intro": "{list} per E-Mail erhalten. Zuerst senden wir einen Link zur Bestätigung.",
        "email_label": "E-Mail-Adresse",
        "name_label": "Name",
        "field_optional": "(optional)",
        "subscribe": "Abonnieren",
        "privacy": "Jede E-Mail enthält einen Link zum Abmelden.",
        "check_title": "Sehen Sie in Ihr Postfach",
        "check": "Öffnen Sie zum Abschluss die E-Mail, die wir an {email} senden, und "
        "drücken Sie die Schaltfläche darin. Nach ein paar Minuten nichts da? Sehen Sie im "
        "Spam-Ordner nach.",
        "invalid_email": "Bitte geben Sie eine E-Mail-Adresse wie name@example.com ein.",
        "too_big_title": "Das ist zu lang",
        "too_big": "Ein Feld ist länger als erlaubt. Es wurde nichts gespeichert.",
        "limited_title": "Zu viele Anfragen",
        "limited": "Es wurde nichts gespeichert. Bitte versuchen Sie es in einer Stunde erneut.",
        "forbidden_title": "Bitte nutzen Sie das Formular",
        "forbidden": "Es wurde nichts gespeichert: Öffnen Sie die Anmeldeseite von "
        "{newsletter} und nutzen Sie das Formular.",
        "confirm_signup_title": "Abonnement bestätigen",
        "confirm_signup": "{list} an {email} senden?",
        "confirm_signup_button": "Ja, anmelden",
        "confirmed_title": "Sie sind angemeldet",
        "confirmed": "{email} erhält {list}. Willkommen!",
        "confirmed_again_title": "Bereits bestätigt",
        "confirmed_again": "Dieses Abonnement wurde schon bestätigt. Es wurde nichts geändert.",
        "expired_title": "Dieser Link ist abgelaufen",
        "expired": "Es wurde nichts geändert. Melden Sie sich erneut an, um einen neuen "
        "Link zu erhalten.",
        "blocked_title": "Diese Adresse kann hier nicht angemeldet werden",
        "blocked": "Es wurde nichts geändert: E-Mails an diese Adresse wurden abgewiesen, "
        "oder sie wollte {newsletter} nicht erhalten. Antworten Sie auf eine E-Mail von "
        "{newsletter}.",
        "bad_link_title": "Dieser Link funktioniert nicht",
        "bad_link": "Dieser Bestätigungslink ist unvollständig oder wurde verändert. Es "
        "wurde nichts geändert. Nutzen Sie den Link der neuesten E-Mail oder melden Sie "
        "sich erneut an.",
    },
    "fr": {
        "use_button_title": "Appuyez sur le bouton",
        "use_button": "Rien n'a changé. Rouvrez le lien de l'e-mail et appuyez sur le "
        "bouton de sa page.",
        "signup_title": "S'abonner à {list}",
        "signup_intro": "Recevez {list} par e-mail. Nous envoyons d'abord un lien de confirmation.",
        "email_label": "Adresse e-mail",
        "name_label": "Nom",
        "field_optional": "(facultatif)",
        "subscribe": "S'abonner",
        "privacy": "Chaque e-mail contient un lien de désabonnement.",
        "check_title": "Consultez votre boîte de réception",
        "check": "Pour terminer, ouvrez l'e-mail que nous envoyons à {email} et appuyez sur "
        "son bouton. Rien après quelques minutes ? Regardez dans les indésirables.",
        "invalid_email": "Saisissez une adresse e-mail comme nom@example.com.",
        "too_big_title": "C'est trop long",
        "too_big": "Un des champs est plus long que permis. Rien n'a été enregistré.",
        "limited_title": "Trop de demandes",
        "limited": "Rien n'a été enregistré. Réessayez dans une heure.",
        "forbidden_title": "Utilisez le formulaire",
        "forbidden": "Rien n'a été enregistré : ouvrez la page d'inscription de "
        "{newsletter} et utilisez son formulaire.",
        "confirm_signup_title": "Confirmez votre abonnement",
        "confirm_signup": "Abonner {email} à {list} ?",
        "confirm_signup_button": "Oui, je m'abonne",
        "confirmed_title": "Vous êtes abonné",
        "confirmed": "{email} recevra {list}. Bienvenue !",
        "confirmed_again_title": "Déjà confirmé",
        "confirmed_again": "Cet abonnement était déjà confirmé. Rien n'a changé.",
        "expired_title": "Ce lien a expiré",
        "expired": "Rien n'a changé. Inscrivez-vous de nouveau pour recevoir un nouveau lien.",
        "blocked_title": "Cette adresse ne peut pas être abonnée ici",
        "blocked": "Rien n'a changé : les e-mails à cette adresse ont été refusés, ou elle a "
        "demandé à ne plus recevoir {newsletter}. Répondez à un e-mail de {newsletter}.",
        "bad_link_title": "Ce lien ne fonctionne pas",
        "bad_link": "Ce lien de confirmation est incomplet ou a été modifié. Rien n'a changé. "
        "Utilisez le lien du dernier e-mail, ou inscrivez-vous de nouveau.",
    },
    "es": {
        "use_button_title": "Pulsa el botón",
        "use_button": "No ha cambiado nada. Abre de nuevo el enlace del correo y pulsa el "
        "botón de su página.",
        "signup_title": "Suscribirse a {list}",
        "signup_intro": "Recibe {list} por correo. Primero enviamos un enlace para confirmarlo.",
        "email_label": "Correo electrónico",
        "name_label": "Nombre",
        "field_optional": "(opcional)",
        "subscribe": "Suscribirme",
        "privacy": "Cada correo tiene un enlace para darse de baja.",
        "check_title": "Revisa tu bandeja de entrada",
        "check": "Para terminar, abre el correo que enviamos a {email} y pulsa su botón. "
        "¿No llega en unos minutos? Mira en la carpeta de spam.",
        "invalid_email": "Escribe una dirección de correo como nombre@example.com.",
        "too_big_title": "Es demasiado largo",
        "too_big": "Uno de los campos es más largo de lo permitido. No se ha guardado nada.",
        "limited_title": "Demasiadas solicitudes",
        "limited": "No se ha guardado nada. Inténtalo de nuevo dentro de una hora.",
        "forbidden_title": "Usa el formulario",
        "forbidden": "No se ha guardado nada: abre la página de suscripción de {newsletter} "
        "y usa su formulario.",
        "confirm_signup_title": "Confirma tu suscripción",
        "confirm_signup": "¿Suscribir {email} a {list}?",
        "confirm_signup_button": "Sí, suscribirme",
        "confirmed_title": "Ya estás suscrito",
        "confirmed": "{email} recibirá {list}. ¡Bienvenido!",
        "confirmed_again_title": "Ya confirmado",
        "confirmed_again": "Esta suscripción ya estaba confirmada. No ha cambiado nada.",
        "expired_title": "Este enlace ha caducado",
        "expired": "No ha cambiado nada. Suscríbete de nuevo para recibir un enlace nuevo.",
        "blocked_title": "Esta dirección no se puede suscribir aquí",
        "blocked": "No ha cambiado nada: el correo a esta dirección fue rechazado, o pidió "
        "no recibir {newsletter}. Responde a un correo de {newsletter}.",
        "bad_link_title": "Este enlace no funciona",
        "bad_link": "Este enlace de confirmación está incompleto o ha sido modificado. No ha "
        "cambiado nada. Usa el enlace del último correo o suscríbete de nuevo.",
    },
}
