"""The service's exceptions. A class's docstring is its default message."""

from __future__ import annotations


class AftercareError(Exception):
    """Something went wrong in the aftercare service."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__)


class ConfigError(AftercareError):
    """The configuration is not valid."""


class DatabaseUnavailable(AftercareError):
    """The database cannot be reached."""


class InviteError(AftercareError):
    """This invite cannot be used."""


class InviteNotFound(InviteError):
    """This invite link is not one we know."""


class InviteUsed(InviteError):
    """This invite link has been used already."""


class InviteExpired(InviteError):
    """This invite link has expired."""


class LinkConflict(AftercareError):
    """This account or record is linked to someone else already."""


class InvalidCadence(AftercareError):
    """The cadence is not valid."""


class AccountError(AftercareError):
    """This console account cannot be created or changed."""


class WeakPassword(AccountError):
    """A password needs at least 12 characters."""
