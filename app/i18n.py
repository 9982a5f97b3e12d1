"""Languages: which ones we speak, how a language tag maps to one, durations in words."""

from functools import lru_cache
from pathlib import Path

from babel.units import format_unit
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

# The language the message ids are written in: it needs no catalog.
SOURCE_LOCALE = "en"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
MAX_TAG_LENGTH = 35  # the longest BCP 47 tag in practical use (RFC 5646, 4.4.1)


def has_catalog(locale: str) -> bool:
    """True when the compiled catalog for this language ships with the app."""
    return locale == SOURCE_LOCALE or (TRANSLATIONS / locale / "LC_MESSAGES/messages.mo").is_file()


def supported_locales() -> list[str]:
    return current_app.config["SUPPORTED_LOCALES"]


def default_locale() -> str:
    return current_app.config["DEFAULT_LOCALE"]


def resolve_locale(tag: object) -> str | None:
    """The supported language a BCP 47 tag asks for ('ko-KR' -> 'ko'), or None."""
    if not isinstance(tag, str) or not tag or len(tag) > MAX_TAG_LENGTH:
        return None
    wanted = tag.strip().replace("_", "-").lower()
    by_key = {locale.replace("_", "-").lower(): locale for locale in supported_locales()}
    # The exact tag first (a supported 'pt-BR'), then its primary language subtag.
    return by_key.get(wanted) or by_key.get(wanted.split("-", 1)[0])


def locale_or_default(locale: str | None) -> str:
    """A stored or requested language we still speak, else the default."""
    return locale if locale in supported_locales() else default_locale()


def format_duration(seconds: int) -> str:
    """How long a link stays valid, in the current language: '24 hours', '24시간', '7 days'.

    The unit is ours (a day's link reads '24 hours', not '1 day'); the words are Babel's.
    """
    if seconds >= 2 * 86400 and seconds % 86400 == 0:
        count, unit = seconds // 86400, "duration-day"
    elif seconds >= 3600 and seconds % 3600 == 0:
        count, unit = seconds // 3600, "duration-hour"
    elif seconds >= 60:
        count, unit = seconds // 60, "duration-minute"
    else:
        count, unit = seconds, "duration-second"
    return _format_unit(count, unit, str(get_locale() or default_locale()))


# Every mail states one or two durations, from a handful of settings and languages.
@lru_cache(maxsize=256)
def _format_unit(count: int, unit: str, locale: str) -> str:
    return format_unit(count, unit, locale=locale)


def format_rate(amount: int, multiples: int, granularity: str) -> str:
    """A rate limit in words: '10 per 1 minute', '1분에 10회'."""
    period = format_unit(multiples, f"duration-{granularity}", locale=get_locale() or "en")
    return _("%(count)d per %(period)s", count=amount, period=period)
