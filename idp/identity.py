"""Field validation for real-name accounts: GB 11643 resident ID numbers, mainland mobile numbers, names.

Pure functions; each raises ``InvalidInput`` naming the field, never anything else.
"""

from __future__ import annotations

import re

from stdnum.cn import ric

from idp.errors import InvalidInput

_PHONE = re.compile(r"^1[3-9]\d{9}$")  # 11-digit mainland mobile number (MIIT numbering plan)
MIN_PASSWORD = 10
MAX_PASSWORD = 256


def normalise_id_number(value: object) -> str:
    """Validate a GB 11643-1999 citizen identity number (check digit ISO 7064 MOD 11-2, birth date)."""
    if not isinstance(value, str):
        raise InvalidInput("id_number", "身份证号码格式不正确 / the ID number is malformed")
    try:
        return ric.validate(value.strip().upper())
    except ric.InvalidLength as exc:
        raise InvalidInput("id_number", "身份证号码应为18位 / an ID number has 18 characters") from exc
    except ric.InvalidChecksum as exc:
        raise InvalidInput("id_number", "身份证号码校验位错误 / the ID number's check digit is wrong") from exc
    except ric.ValidationError as exc:
        raise InvalidInput("id_number", "身份证号码格式不正确 / the ID number is malformed") from exc
    except (ValueError, TypeError) as exc:  # stdnum may surface these on odd input
        raise InvalidInput("id_number", "身份证号码格式不正确 / the ID number is malformed") from exc


def normalise_phone(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("phone", "手机号码格式不正确 / the phone number is malformed")
    phone = value.strip().replace(" ", "").replace("-", "")
    if phone.startswith("+86"):
        phone = phone[3:]
    if not _PHONE.match(phone):
        raise InvalidInput("phone", "手机号码应为11位大陆手机号 / use an 11-digit mainland mobile number")
    return phone


def normalise_name(value: object) -> str:
    if not isinstance(value, str) or not (1 <= len(value.strip()) <= 100):
        raise InvalidInput("name", "请填写姓名 / enter your name as on your ID card")
    name = value.strip()
    if any(not (ch.isalpha() or ch in "·• ") for ch in name):
        raise InvalidInput("name", "姓名只能包含文字和间隔号 / a name holds letters and the middle dot only")
    return name


def check_password(value: object) -> str:
    """NIST SP 800-63B §5.1.1.2: length matters, composition rules do not."""
    if not isinstance(value, str) or not (MIN_PASSWORD <= len(value) <= MAX_PASSWORD):
        raise InvalidInput(
            "password",
            f"密码长度应为{MIN_PASSWORD}至{MAX_PASSWORD}位 / use {MIN_PASSWORD} to {MAX_PASSWORD} characters",
        )
    return value


def username_kind(username: str) -> str:
    """'phone' for an 11-digit mobile number, else 'id_number' (the login form takes either)."""
    return "phone" if _PHONE.match(username.strip()) else "id_number"
