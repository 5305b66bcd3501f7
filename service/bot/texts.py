"""What the bot itself says (not the clinical message library): every text in every language."""

from __future__ import annotations

from html import escape
from typing import Final

LANGUAGES: Final = ("en", "es")

TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "linked_client": (
            "Hi {first_name}, thank you for joining. This chat is how your care team stays in "
            "touch after treatment."
        ),
        "linked_staff": (
            "Hi {name}, your Telegram account is now linked as {role}. Alerts for your clients "
            "will arrive in this chat."
        ),
        "invite_not_found": (
            "I couldn't find that invite. Please check the link, or ask your care team for a "
            "new one."
        ),
        "invite_used": (
            "That invite link has already been used. If it wasn't you, or you changed phones, "
            "your care team can send you a new one."
        ),
        "invite_expired": (
            "That invite link has expired. Your care team can send you a fresh one whenever "
            "you're ready."
        ),
        "link_conflict": (
            "This Telegram account is already linked to someone else's record, so I can't use "
            "this invite here. Your care team can help sort it out."
        ),
        "no_invite": (
            "Hi! This bot keeps alumni of a treatment program in touch with their care team. "
            "To join, please use the invite link your care team gave you."
        ),
        "welcome_back": "Welcome back, {first_name}. I'm here whenever you want to talk.",
        "consent": (
            "Before we start, here is how this works.\n\n"
            "• <b>What I send:</b> short check-ins and encouragement, daily at first and less "
            "often over the months. You can answer in your own words or with one tap.\n"
            "• <b>Who sees your replies:</b> your care team. If a reply sounds like you may be in "
            "danger, they are alerted.\n"
            "• <b>Telegram</b> keeps this chat on its servers. Please don't share anything here "
            "you wouldn't want stored there.\n"
            "• <b>This is not an emergency service.</b> In a crisis, call or text 988 "
            "(Suicide &amp; Crisis Lifeline), or call 911.\n\n"
            "You can pause or stop at any time: /help shows how."
        ),
        "consent_agree": "I agree",
        "consent_later": "Not now",
        "consent_given": "Thank you, {first_name}. I'm glad you're here.",
        "consent_declined": (
            "That's completely fine. Nothing will be sent to you. If you change your mind, "
            "write /start. And if you ever need help right away, call or text 988."
        ),
        "consent_first": "Before anything else, please have a look at how this works:",
        "help": (
            "Here is what you can do any time:\n"
            "/checkin: a check-in now\n"
            "/pause: a break from check-ins\n"
            "/resume: start them again\n"
            "/stop: stop all check-ins (you can come back with /start)\n"
            "/sos: help right now\n"
            "/settings: what matters to you, time zone, time of day, language\n"
            "/mydata: what is stored about you\n"
            "/delete: erase your data\n\n"
            "In an emergency, call or text 988, or call 911."
        ),
        "stopped": (
            "Check-ins have stopped, {first_name}. You won't get any more messages from me "
            "unless you write. If you want to come back, /start is all it takes. And if you "
            "ever write to me in a hard moment, I'll still answer."
        ),
        "pause_ask": "How long would you like a break from check-ins?",
        "pause_days": "{days} days",
        "pause_week": "1 week",
        "pause_weeks": "{weeks} weeks",
        "paused": (
            "Check-ins are paused until {until}. You can write any time, and /resume starts "
            "them again sooner."
        ),
        "resumed": "Welcome back, {first_name}. Check-ins are on again.",
        "not_paused": "Check-ins are already on, {first_name}.",
        "pause_after_onboarding": (
            "A break can start once we have finished setting up: a few questions are left above, "
            "and each has Skip. Check-ins only begin after that, and /stop works at any time."
        ),
        "not_enrolled": (
            "I don't know this account yet. To join, please use the invite link your care team "
            "gave you. If you need help right now, call or text 988."
        ),
        "only_text": (
            "I can only read text here. If you'd like to tell me something, please write it. "
            "If you need help now, /sos or call or text 988."
        ),
        "edited": "I saw you edited a message. I read the first version; feel free to write again.",
        "too_long": "Thank you for writing all that. I've kept every word for your care team.",
        "values_ask": (
            "What matters most to you? Choose as many as you like, then press Done. "
            "(You can change this any time with /settings.)"
        ),
        "values_other": "Something else",
        "values_done": "Done",
        "skip": "Skip",
        "values_own_ask": "What else matters to you? A few words are plenty.",
        "reason_ask": (
            "In your own words, why does this change matter to you? Whatever you write stays "
            "between you and your care team."
        ),
        "timezone_ask": "Which time zone are you in? If it isn't here, type your city.",
        "timezone_unknown": (
            "I couldn't find that city. Try a nearby larger city, or pick one of the buttons."
        ),
        "window_ask": "When is a good time for check-ins? You can also type an hour, like 8 or 19.",
        "window_morning": "Morning",
        "window_afternoon": "Afternoon",
        "window_evening": "Evening",
        "language_ask": "Which language would you like?",
        "onboarded": (
            "All set, {first_name}. Check-ins will come {when}, {timezone} time. "
            "/settings changes any of this, and /help shows what else you can do."
        ),
        "when_morning": "in the morning",
        "when_afternoon": "in the afternoon",
        "when_evening": "in the evening",
        "when_hour": "around {hour}:00",
        "mydata": (
            "Here is what is stored about you:\n"
            "• Name: {first_name} (code {code})\n"
            "• Language: {lang_name}; time zone: {timezone}; check-ins around {window}\n"
            "• What matters to you: {values}\n"
            "• Your own words: {reasons}\n"
            "• Discharge date: {discharge}; sobriety date: {sobriety}\n"
            "• Consent: {consent}\n"
            "• Messages you sent: {inbound}; messages to you: {outbound}\n\n"
            "Your care team can see this and your replies. /delete erases it."
        ),
        "nothing": "none",
        "delete_ask": (
            "This erases what you wrote and what is stored about you, and stops all check-ins. "
            "It can't be undone. Your care team will see that your data was erased."
        ),
        "delete_yes": "Yes, erase it",
        "delete_no": "Keep it",
        "deleted": (
            "Your data has been erased and check-ins have stopped. If you ever want to come "
            "back, your care team can send you a new invite. In a crisis, call or text 988."
        ),
        "delete_kept": "Nothing was erased.",
        "staff_help": (
            "You're on the care team. Alerts about your clients arrive in this chat, each with "
            "the client's code, how urgent it is, the reason and a link to the console, not "
            "their name. Tap Acknowledge when you've seen one (or Call back requested, or "
            "Resolve); one nobody acknowledges goes up the escalation ladder."
        ),
        "erased_note": "Client {code} asked for their data to be erased, and it was: {link}",
        "blocked_note": (
            "Client {code} has blocked the bot, so check-ins no longer reach them. Details: {link}"
        ),
        "sos_unknown": (
            "If you are in danger, please call {emergency_number} now. To talk with someone "
            "right now, you can {crisis_lines}."
        ),
        "weekly_intro": (
            "Here is this week's check-in: 4 quick taps about how the past 7 days went. There "
            "are no right or wrong answers, and it's fine to skip any of them."
        ),
        "weekly_ask_craving": (
            "How much have cravings or urges to drink or use bothered you over the past 7 days?"
        ),
        "weekly_ask_confidence": (
            "How confident do you feel that you can keep to your recovery goals in the coming week?"
        ),
        "weekly_ask_support": (
            "On how many of the past 7 days did you connect with someone or something that "
            "supports your recovery, like a meeting, a sponsor or a sober friend?"
        ),
        "weekly_ask_progress": (
            "How satisfied are you with your progress toward your recovery goals?"
        ),
        "weekly_level_0": "Not at all",
        "weekly_level_1": "Slightly",
        "weekly_level_2": "Moderately",
        "weekly_level_3": "Considerably",
        "weekly_level_4": "Extremely",
        "weekly_craving_0": "cravings didn't bother you at all",
        "weekly_craving_1": "cravings bothered you slightly",
        "weekly_craving_2": "cravings bothered you moderately",
        "weekly_craving_3": "cravings bothered you considerably",
        "weekly_craving_4": "cravings bothered you a great deal",
        "weekly_confidence_0": "you're not feeling confident about the coming week",
        "weekly_confidence_1": "you're feeling slightly confident about the coming week",
        "weekly_confidence_2": "you're feeling moderately confident about the coming week",
        "weekly_confidence_3": "you're feeling quite confident about the coming week",
        "weekly_confidence_4": "you're feeling very confident about the coming week",
        "weekly_support_0": "you didn't connect with your supports",
        "weekly_support_1": "you connected with your supports on 1 or 2 days",
        "weekly_support_2": "you connected with your supports on 3 or 4 days",
        "weekly_support_3": "you connected with your supports on 5 or 6 days",
        "weekly_support_4": "you connected with your supports every day",
        "weekly_progress_0": "you're not satisfied with your progress right now",
        "weekly_progress_1": "you're slightly satisfied with your progress",
        "weekly_progress_2": "you're moderately satisfied with your progress",
        "weekly_progress_3": "you're quite satisfied with your progress",
        "weekly_progress_4": "you're very satisfied with your progress",
        "weekly_summary": "This week {reflection}.",
        "weekly_and": "and",
        "weekly_thanks": (
            "Thank you for taking a moment to look at your week so honestly; noticing how "
            "things are going is part of taking care of yourself. If you'd like to say more "
            "about any of it, I'm listening."
        ),
        "weekly_all_skipped": (
            "Thanks for stopping by; skipping is completely fine. If you'd like to tell me "
            "anything about your week, I'm listening."
        ),
        "weekly_already": "Already noted, thank you.",
        "alert_acknowledge": "Acknowledge",
        "alert_resolve": "Resolve",
        "alert_callback": "Call back requested",
        "alert_state_acknowledged": "Acknowledged by {name}, {time}",
        "alert_state_callback_requested": "Call back requested by {name}, {time}",
        "alert_state_resolved": "Resolved by {name}, {time}",
        "alert_done_acknowledged": "Acknowledged. Thank you.",
        "alert_done_callback_requested": "Noted: you'll call them back. Thank you.",
        "alert_done_resolved": "Resolved. Thank you.",
        "alert_already": "Already taken care of: {state}.",
        "alert_gone": "This alert is no longer there.",
        "alert_staff_only": "Sorry, only the care team can act on alerts.",
        "alert_quote": "Their message: <i>{quote}</i>",
        "alert_seen": (
            "Someone from your care team has seen your message. Thank you for reaching out; "
            "you're not alone in this. If you need help right away, you can {crisis_lines}."
        ),
    },
    "es": {
        "linked_client": (
            "Hola, {first_name}. Gracias por unirte. Por este chat tu equipo de cuidado sigue "
            "en contacto contigo después del tratamiento."
        ),
        "linked_staff": (
            "Hola, {name}. Tu cuenta de Telegram quedó vinculada como {role}. Aquí recibirás "
            "las alertas de tus clientes."
        ),
        "invite_not_found": (
            "No encontré esa invitación. Revisa el enlace o pide uno nuevo a tu equipo de cuidado."
        ),
        "invite_used": (
            "Ese enlace de invitación ya se usó. Si no fuiste tú, o cambiaste de teléfono, tu "
            "equipo de cuidado puede enviarte otro."
        ),
        "invite_expired": (
            "Ese enlace de invitación venció. Tu equipo de cuidado puede enviarte uno nuevo "
            "cuando quieras."
        ),
        "link_conflict": (
            "Esta cuenta de Telegram ya está vinculada al registro de otra persona, así que no "
            "puedo usar la invitación aquí. Tu equipo de cuidado puede ayudarte."
        ),
        "no_invite": (
            "¡Hola! Este bot mantiene a quienes egresaron de un programa de tratamiento en "
            "contacto con su equipo de cuidado. Para unirte, usa el enlace de invitación que "
            "te dio tu equipo."
        ),
        "welcome_back": "Qué bueno verte de nuevo, {first_name}. Aquí estoy cuando quieras hablar.",
        "consent": (
            "Antes de empezar, te cuento cómo funciona.\n\n"
            "• <b>Lo que envío:</b> mensajes breves de seguimiento y de ánimo, a diario al "
            "principio y con menos frecuencia con los meses. Puedes responder con tus palabras "
            "o con un toque.\n"
            "• <b>Quién ve tus respuestas:</b> tu equipo de apoyo. Si una respuesta suena a que "
            "podrías estar en peligro, se les avisa.\n"
            "• <b>Telegram</b> guarda este chat en sus servidores. Mejor no compartas aquí nada "
            "que no quieras que quede guardado allí.\n"
            "• <b>Esto no es un servicio de emergencias.</b> En una crisis, llama o envía un "
            "texto al 988 (marca 2 para español), o llama al 911.\n\n"
            "Puedes pausar o detener cuando quieras: /help te muestra cómo."
        ),
        "consent_agree": "Acepto",
        "consent_later": "Ahora no",
        "consent_given": "Gracias, {first_name}. Me alegra que estés aquí.",
        "consent_declined": (
            "Está bien. No te enviaré nada. Si cambias de opinión, escribe /start. Y si alguna "
            "vez necesitas ayuda enseguida, llama o envía un texto al 988."
        ),
        "consent_first": "Antes de cualquier cosa, mira cómo funciona esto:",
        "help": (
            "Esto es lo que puedes hacer cuando quieras:\n"
            "/checkin: un seguimiento ahora\n"
            "/pause: un descanso de los seguimientos\n"
            "/resume: retomarlos\n"
            "/stop: detener todos los seguimientos (vuelves con /start)\n"
            "/sos: ayuda ahora mismo\n"
            "/settings: lo que te importa, zona horaria, hora del día, idioma\n"
            "/mydata: lo que se guarda sobre ti\n"
            "/delete: borrar tus datos\n\n"
            "En una emergencia, llama o envía un texto al 988, o llama al 911."
        ),
        "stopped": (
            "Los seguimientos se detuvieron, {first_name}. No recibirás más mensajes míos a "
            "menos que escribas. Si quieres volver, basta con /start. Y si alguna vez me "
            "escribes en un momento difícil, te voy a responder."
        ),
        "pause_ask": "¿Por cuánto tiempo quieres un descanso de los seguimientos?",
        "pause_days": "{days} días",
        "pause_week": "1 semana",
        "pause_weeks": "{weeks} semanas",
        "paused": (
            "Los seguimientos quedan en pausa hasta el {until}. Puedes escribir cuando quieras, "
            "y /resume los retoma antes."
        ),
        "resumed": "Qué bueno tenerte de vuelta, {first_name}. Los seguimientos están activos.",
        "not_paused": "Los seguimientos ya están activos, {first_name}.",
        "pause_after_onboarding": (
            "Podemos hacer una pausa cuando terminemos de configurar: quedan unas preguntas "
            "arriba, y cada una tiene Omitir. Los seguimientos empiezan después, y /stop "
            "funciona en cualquier momento."
        ),
        "not_enrolled": (
            "Todavía no conozco esta cuenta. Para unirte, usa el enlace de invitación que te dio "
            "tu equipo. Si necesitas ayuda ahora, llama o envía un texto al 988."
        ),
        "only_text": (
            "Aquí solo puedo leer texto. Si quieres contarme algo, escríbelo. Si necesitas ayuda "
            "ahora, /sos o llama o envía un texto al 988."
        ),
        "edited": "Vi que editaste un mensaje. Leí la primera versión; puedes escribirme de nuevo.",
        "too_long": "Gracias por escribir todo eso. Guardé cada palabra para tu equipo.",
        "values_ask": (
            "¿Qué es lo más importante para ti? Elige todo lo que quieras y luego toca Listo. "
            "(Puedes cambiarlo cuando quieras con /settings.)"
        ),
        "values_other": "Otra cosa",
        "values_done": "Listo",
        "skip": "Omitir",
        "values_own_ask": "¿Qué más es importante para ti? Con unas pocas palabras basta.",
        "reason_ask": (
            "Con tus propias palabras, ¿por qué te importa este cambio? Lo que escribas queda "
            "entre tú y tu equipo de apoyo."
        ),
        "timezone_ask": "¿En qué zona horaria estás? Si no aparece, escribe tu ciudad.",
        "timezone_unknown": (
            "No encontré esa ciudad. Prueba con una ciudad grande cercana o elige un botón."
        ),
        "window_ask": (
            "¿Cuándo te vienen bien los seguimientos? También puedes escribir una hora, "
            "como 8 o 19."
        ),
        "window_morning": "Mañana",
        "window_afternoon": "Tarde",
        "window_evening": "Noche",
        "language_ask": "¿En qué idioma prefieres?",
        "onboarded": (
            "Todo listo, {first_name}. Los seguimientos llegarán {when}, hora de {timezone}. "
            "/settings cambia cualquier cosa y /help muestra qué más puedes hacer."
        ),
        "when_morning": "por la mañana",
        "when_afternoon": "por la tarde",
        "when_evening": "por la noche",
        "when_hour": "hacia las {hour}:00",
        "mydata": (
            "Esto es lo que se guarda sobre ti:\n"
            "• Nombre: {first_name} (código {code})\n"
            "• Idioma: {lang_name}; zona horaria: {timezone}; seguimientos hacia {window}\n"
            "• Lo que te importa: {values}\n"
            "• Tus propias palabras: {reasons}\n"
            "• Fecha de egreso: {discharge}; fecha de sobriedad: {sobriety}\n"
            "• Consentimiento: {consent}\n"
            "• Mensajes que enviaste: {inbound}; mensajes para ti: {outbound}\n\n"
            "Tu equipo de apoyo puede ver esto y tus respuestas. /delete lo borra."
        ),
        "nothing": "nada",
        "delete_ask": (
            "Esto borra lo que escribiste y lo que se guarda sobre ti, y detiene los "
            "seguimientos. No se puede deshacer. Tu equipo verá que tus datos se borraron."
        ),
        "delete_yes": "Sí, bórralo",
        "delete_no": "Mejor no",
        "deleted": (
            "Tus datos se borraron y los seguimientos se detuvieron. Si algún día quieres "
            "volver, tu equipo puede enviarte una nueva invitación. En una crisis, llama o "
            "envía un texto al 988."
        ),
        "delete_kept": "No se borró nada.",
        "staff_help": (
            "Eres parte del equipo de cuidado. Las alertas sobre tus clientes llegan a este chat, "
            "cada una con el código del cliente, su urgencia, el motivo y un enlace a la consola, "
            "no su nombre. Toca Confirmar recepción cuando veas una (o Devolver la llamada, o "
            "Resolver); si nadie la confirma, sube en la escala de aviso."
        ),
        "erased_note": "El cliente {code} pidió borrar sus datos y se borraron: {link}",
        "blocked_note": (
            "El cliente {code} bloqueó el bot, así que los seguimientos ya no le llegan. "
            "Detalles: {link}"
        ),
        "sos_unknown": (
            "Si estás en peligro, llama al {emergency_number} ahora. Para hablar con alguien "
            "ahora mismo: {crisis_lines}."
        ),
        "weekly_intro": (
            "Aquí va el seguimiento de esta semana: 4 toques rápidos sobre cómo te fue en los "
            "últimos 7 días. No hay respuestas correctas ni incorrectas, y puedes omitir la "
            "que quieras."
        ),
        "weekly_ask_craving": (
            "¿Cuánto te han molestado las ganas o los impulsos de beber o consumir en los "
            "últimos 7 días?"
        ),
        "weekly_ask_confidence": (
            "¿Qué tan capaz te sientes de mantener tus metas de recuperación la próxima semana?"
        ),
        "weekly_ask_support": (
            "¿Cuántos de los últimos 7 días conectaste con alguien o algo que apoya tu "
            "recuperación, como una reunión, tu padrino o madrina, o una amistad sobria?"
        ),
        "weekly_ask_progress": "¿Cuánto te satisface tu avance hacia tus metas de recuperación?",
        "weekly_level_0": "Nada",
        "weekly_level_1": "Un poco",
        "weekly_level_2": "Moderadamente",
        "weekly_level_3": "Bastante",
        "weekly_level_4": "Muchísimo",
        "weekly_craving_0": "las ganas de consumir no te molestaron nada",
        "weekly_craving_1": "las ganas de consumir te molestaron un poco",
        "weekly_craving_2": "las ganas de consumir te molestaron moderadamente",
        "weekly_craving_3": "las ganas de consumir te molestaron bastante",
        "weekly_craving_4": "las ganas de consumir te molestaron muchísimo",
        "weekly_confidence_0": "no sientes confianza para los próximos días",
        "weekly_confidence_1": "sientes un poco de confianza para los próximos días",
        "weekly_confidence_2": "sientes algo de confianza para los próximos días",
        "weekly_confidence_3": "sientes bastante confianza para los próximos días",
        "weekly_confidence_4": "sientes mucha confianza para los próximos días",
        "weekly_support_0": "no conectaste con tus apoyos",
        "weekly_support_1": "conectaste con tus apoyos 1 o 2 días",
        "weekly_support_2": "conectaste con tus apoyos 3 o 4 días",
        "weekly_support_3": "conectaste con tus apoyos 5 o 6 días",
        "weekly_support_4": "conectaste con tus apoyos todos los días",
        "weekly_progress_0": "por ahora tu avance no te satisface",
        "weekly_progress_1": "tu avance te satisface un poco",
        "weekly_progress_2": "tu avance te satisface moderadamente",
        "weekly_progress_3": "tu avance te satisface bastante",
        "weekly_progress_4": "tu avance te satisface muchísimo",
        "weekly_summary": "Esta semana {reflection}.",
        "weekly_and": "y",
        "weekly_thanks": (
            "Gracias por tomarte un momento para mirar tu semana con tanta honestidad; darte "
            "cuenta de cómo van las cosas es parte de cuidarte. Si quieres contarme más sobre "
            "algo de esto, aquí estoy para escucharte."
        ),
        "weekly_all_skipped": (
            "Gracias por pasar por aquí; omitir está perfectamente bien. Si quieres contarme "
            "algo sobre tu semana, aquí estoy para escucharte."
        ),
        "weekly_already": "Ya lo anoté, gracias.",
        "alert_acknowledge": "Confirmar recepción",
        "alert_resolve": "Resolver",
        "alert_callback": "Devolver la llamada",
        "alert_state_acknowledged": "Recibida por {name}, {time}",
        "alert_state_callback_requested": "Devolución de llamada a cargo de {name}, {time}",
        "alert_state_resolved": "Resuelta por {name}, {time}",
        "alert_done_acknowledged": "Recibida. Gracias.",
        "alert_done_callback_requested": "Anotado: devolverás la llamada. Gracias.",
        "alert_done_resolved": "Resuelta. Gracias.",
        "alert_already": "Ya se atendió: {state}.",
        "alert_gone": "Esta alerta ya no existe.",
        "alert_staff_only": "Lo siento, solo el equipo de cuidado puede actuar sobre las alertas.",
        "alert_quote": "Su mensaje: <i>{quote}</i>",
        "alert_seen": (
            "Alguien de tu equipo de cuidado vio tu mensaje. Gracias por escribir; no estás "
            "solo ni sola en esto. Si necesitas ayuda ahora mismo: {crisis_lines}."
        ),
    },
}

ROLE_NAMES: Final[dict[str, dict[str, str]]] = {
    "en": {"coordinator": "a care coordinator", "supervisor": "a supervisor", "admin": "an admin"},
    "es": {
        "coordinator": "coordinador(a) de cuidado",
        "supervisor": "supervisor(a)",
        "admin": "administrador(a)",
    },
}


def language_of(code: str | None, default: str = "en") -> str:
    """The bot language for a Telegram language code such as ``es-MX``."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else default


def text(language: str, key: str, **values: str) -> str:
    """The text in HTML parse mode, with the values (names people typed) escaped."""
    escaped = {name: escape(value, quote=False) for name, value in values.items()}
    return TEXTS[language_of(language)][key].format(**escaped)


STAFF_COMMANDS: Final[dict[str, list[tuple[str, str]]]] = {
    "en": [("help", "How alerts reach you")],
    "es": [("help", "Cómo te llegan las alertas")],
}

COMMANDS: Final[dict[str, list[tuple[str, str]]]] = {
    "en": [
        ("checkin", "A check-in now"),
        ("pause", "A break from check-ins"),
        ("resume", "Start check-ins again"),
        ("stop", "Stop all check-ins"),
        ("sos", "Help right now"),
        ("settings", "What matters to you, time, language"),
        ("mydata", "What is stored about you"),
        ("delete", "Erase your data"),
        ("help", "What I can do"),
    ],
    "es": [
        ("checkin", "Un seguimiento ahora"),
        ("pause", "Un descanso de los seguimientos"),
        ("resume", "Retomar los seguimientos"),
        ("stop", "Detener todos los seguimientos"),
        ("sos", "Ayuda ahora mismo"),
        ("settings", "Lo que te importa, hora, idioma"),
        ("mydata", "Lo que se guarda sobre ti"),
        ("delete", "Borrar tus datos"),
        ("help", "Lo que puedo hacer"),
    ],
}

VALUE_BUTTONS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "family": "Family",
        "health": "Health",
        "work": "Work",
        "faith": "Faith, spirituality",
        "friendship": "Friendship",
        "freedom": "Freedom",
        "creativity": "Creativity",
        "learning": "Learning",
        "nature": "Nature",
        "helping_others": "Helping others",
    },
    "es": {
        "family": "Familia",
        "health": "Salud",
        "work": "Trabajo",
        "faith": "Fe, espiritualidad",
        "friendship": "Amistad",
        "freedom": "Libertad",
        "creativity": "Creatividad",
        "learning": "Aprender",
        "nature": "Naturaleza",
        "helping_others": "Ayudar a otros",
    },
}
