"""Keep resident ID numbers out of logs (PIPL art. 51: technical measures for sensitive information).

Request lines logged by the web server can carry an ID number (a relying party's ``login_hint``, say).
``RedactIdNumbers`` masks anything shaped like a GB 11643 number in a record; ``install`` applies it to
every record as it is created, so no logger or handler added later can miss it.
"""

from __future__ import annotations

import logging
import re

_ID = re.compile(r"(?<![0-9])([1-9][0-9]{5})((?:19|20)[0-9]{2}[01][0-9][0-3][0-9][0-9]{3})([0-9Xx])(?![0-9])")
_URL_ENCODED = re.compile(r"(?<![0-9])[1-9][0-9]{16}(?:[0-9]|%58|%78|X|x)(?![0-9])")


def redact(text: str) -> str:
    text = _ID.sub(lambda m: m.group(1)[:4] + "*" * 14, text)
    return _URL_ENCODED.sub(lambda m: m.group(0)[:4] + "*" * 14, text)


class RedactIdNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install() -> None:
    """Redact every log record at creation, whichever logger or handler it goes to (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "tongban_redacts", False):
        return

    def make_record(*args, **kwargs) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        RedactIdNumbers().filter(record)
        return record

    make_record.tongban_redacts = True
    logging.setLogRecordFactory(make_record)
