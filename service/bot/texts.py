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
