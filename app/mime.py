"""The bytes of a text-and-HTML mail, written directly rather than by the email package.

Flask-Mail builds a tree of MIME objects and flattens it under `policy.SMTP`, whose generator
parses every header again through `email.headerregistry`: a millisecond of CPU per mail, taken
from the same worker that hashes passwords. The layout of these mails never varies, so it is
written here as text, in the generator's exact output: the same headers, folded by the same
policy, the same parts in the same order (multipart/mixed holding multipart/alternative, plain
text then HTML, utf-8, 7bit or 8bit), only the random boundaries differ.
"""

import random
import re
import sys
from email import policy

# Header lines that fit are kept as they are; longer ones are refolded exactly as the
# generator refolds them under Flask-Mail's policy.
_FOLD = policy.SMTP.fold
_NEWLINES = re.compile(r"\r\n|\r|\n")
_BOUNDARY_DIGITS = len(repr(sys.maxsize - 1))


def _boundary(texts: tuple[str, ...]) -> str:
    """A boundary like the generator's, found nowhere in the parts' texts."""
    while True:
        boundary = f"{'=' * 15}{random.randrange(sys.maxsize):0{_BOUNDARY_DIGITS}d}=="
        if not any(boundary in text for text in texts):
            return boundary


def _text_part(subtype: str, content: str) -> str:
    encoding = "7bit" if content.isascii() else "8bit"
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "MIME-Version: 1.0\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n"
        "\r\n" + _NEWLINES.sub("\r\n", content)
    )


def alternative_mail(headers: list[tuple[str, str]], text: str, html: str) -> bytes:
    """A multipart/alternative mail (text, then HTML) with these top-level headers, CRLF-ended."""
    plain, rich = _text_part("plain", text), _text_part("html", html)
    inner = _boundary((plain, rich))
    alternative = (
        f'Content-Type: multipart/alternative;\r\n boundary="{inner}"\r\n'
        "MIME-Version: 1.0\r\n"
        f"\r\n--{inner}\r\n{plain}\r\n--{inner}\r\n{rich}\r\n--{inner}--\r\n"
    )
    outer = _boundary((alternative,))
    top = "".join(_FOLD(name, value) for name, value in headers)
    return (
        f'Content-Type: multipart/mixed; boundary="{outer}"\r\n'
        f"MIME-Version: 1.0\r\n{top}"
        f"\r\n--{outer}\r\n{alternative}\r\n--{outer}--\r\n"
    ).encode()
