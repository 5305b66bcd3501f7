"""Passwords of console users: Argon2id hashes (argon2-cffi's defaults) and the length rule."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.errors import WeakPassword

MIN_LENGTH = 12
MAX_LENGTH = 1024  # longer is refused unhashed: no one types that, and hashing it costs time


@cache
def hasher() -> PasswordHasher:
    return PasswordHasher()


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"A password needs at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"A password may have at most {MAX_LENGTH} characters.")


def hash_password(password: str) -> str:
    check_strength(password)
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; a malformed hash is simply no match."""
    if len(password) > MAX_LENGTH:
        password = ""  # still hash something, in about the same time
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """The hash was made with other parameters than today's: rehash at the next sign-in."""
    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def dummy_hash() -> str:
    """A hash to check against when there is no account, so an unknown email takes as long."""
    return hasher().hash(secrets.token_urlsafe(16))
