"""Taking a mailed code: a guess is counted before the code is looked at; a code works once."""

from collections.abc import Callable
from typing import TypeVar

from .. import codes
from ..errors import CodeInvalid, TooManyGuesses
from ..extensions import db
from ..models import VerificationCode

T = TypeVar("T")


def redeem_code(
    purposes: tuple[str, ...],
    email: str,
    code: str,
    accept: Callable[[VerificationCode], T | None],
) -> T:
    """Use up the code mailed to email for one of these purposes; what accept makes of it.

    accept turns the matching code into what the caller needs, or None when the state it was
    issued against has moved on. The caller commits its change together with the used code.
    Every failure is the same CodeInvalid, whatever the reason (wrong, expired, used, no
    account, nothing pending), so the answer tells nothing about the address.
    """
    try:
        count = codes.reserve_guess(email)
    except TooManyGuesses:
        db.session.rollback()
        raise
    # The guess is counted, and visible to every other process, before the code is compared:
    # concurrent guesses cannot all be evaluated under the cap.
    db.session.commit()
    row = codes.find(purposes, email, code)
    result = accept(row) if row is not None else None
    if result is not None and codes.consume(row):
        codes.release_guess(email)
        return result
    db.session.rollback()
    if codes.is_cap_reached(count):
        # Locked out: the codes outstanding now never work again, even after the window.
        codes.end_for_address(email)
        db.session.commit()
    raise CodeInvalid()
