"""Password hashing (Argon2id) and the password policy."""

import ast
import importlib.util
import unicodedata
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

MIN_LENGTH = 8
MAX_LENGTH = 128


@cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords from real leaks, as zxcvbn ships them."""
    # Read from its data file, not imported: importing zxcvbn builds ranked dictionaries of
    # all its word lists, about 17 MB in every worker, of which we use this one list.
    spec = importlib.util.find_spec("zxcvbn")
    source = (Path(spec.submodule_search_locations[0]) / "frequency_lists.py").read_text()
    # Plain string searches: a regular expression over the 800 kB file takes seconds.
    start = source.find('"passwords": "')
    end = source.find('".split(', start)
    if start < 0 or end < 0:  # a zxcvbn release that stores its lists differently
        raise RuntimeError("zxcvbn's password list was not found in frequency_lists.py")
    literal = source[start + len('"passwords": ') : end + 1]
    return frozenset(ast.literal_eval(literal).split(","))


@cache
def _hasher_for(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
    )


def _hasher() -> PasswordHasher:
    c = current_app.config
    return _hasher_for(c["ARGON2_TIME_COST"], c["ARGON2_MEMORY_COST"], c["ARGON2_PARALLELISM"])


@cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher_for(time_cost, memory_cost, parallelism).hash("dummy password for timing")


def normalize(password: str) -> str:
    """NFKC, so the same password typed on two keyboards (composed or not) is the same."""
    return unicodedata.normalize("NFKC", password)


def password_problem(password: str, email: str | None) -> str | None:
    """Why this password is refused, or None when it is acceptable."""
    password = normalize(password)
    if "\x00" in password:
        return _("Must not contain NUL characters.")
    if len(password) < MIN_LENGTH:
        return _("Must be at least %(count)d characters long.", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Must be at most %(count)d characters long.", count=MAX_LENGTH)
    if email and password.casefold() == email.casefold():
        return _("Must not be your email address.")
    if password.lower() in _common_passwords():
        return _("Is too common: choose one that is harder to guess.")
    return None


def hash_password(password: str) -> str:
    return _hasher().hash(normalize(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash, spend the same time on a dummy so timing tells nothing."""
    hasher = _hasher()
    if password_hash is None:
        spend_hashing_time(password)
        return False
    try:
        return hasher.verify(password_hash, normalize(password))
    except (VerificationError, InvalidHashError):
        return False


def spend_hashing_time(password: str) -> None:
    """Do the work of one verification, for branches that have no real hash to check."""
    c = current_app.config
    dummy = _dummy_hash(c["ARGON2_TIME_COST"], c["ARGON2_MEMORY_COST"], c["ARGON2_PARALLELISM"])
    try:
        _hasher().verify(dummy, normalize(password))
    except VerificationError:
        pass


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the configured ones."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
