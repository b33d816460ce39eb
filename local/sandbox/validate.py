"""Reading and checking vendor JSON bodies the way ASP.NET model binding with Newtonsoft does.

Both vendors run on ASP.NET with Newtonsoft.Json. Where their docs are silent the sandbox binds
like a tolerant Newtonsoft API:
- property names match case-insensitively (Vitec's own curl sample says `sMSReminder`),
- unknown properties are ignored and `null` means "not given",
- a JSON primitive binds to a text field (Newtonsoft turns 12 into "12"),
- booleans also bind from "true"/"false" and from numbers, integers and numbers from
  numeric strings, enums from any name or number (no doc lists a complete set of members),
- dates are ISO 8601, a date or a date-time.
Only a value Newtonsoft cannot convert at all (an object where text is expected, "yes" for a
boolean) is a field error. Every failing field is collected, never just the first.

These are binding rules, not vendor rules: the vendor rules (required parts, the 20-id limit)
live in vitec.py and omnicasa.py, each with the doc line it comes from.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

JsonObj = dict[str, Any]

MSG_TEXT = "Ogiltigt värde, text förväntades"
MSG_BOOL = "Ogiltigt värde, true eller false förväntades"
MSG_INT = "Ogiltigt värde, ett heltal förväntades"
MSG_NUMBER = "Ogiltigt värde, ett tal förväntades"
MSG_OBJECT = "Ogiltigt värde, ett objekt förväntades"
MSG_ARRAY = "Ogiltigt värde, en lista förväntades"
MSG_DATE = "Ogiltigt datum"
MSG_ENUM = "Ogiltigt värde"


def field(obj: JsonObj | None, name: str) -> Any:
    """Newtonsoft binds property names case-insensitively, so the sandbox does too."""
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    wanted = name.lower()
    for key, value in obj.items():
        if key.lower() == wanted:
            return value
    return None


def dig(obj: Any, *names: str) -> Any:
    """Follow a path of property names; anything that is not an object on the way gives None."""
    current = obj
    for name in names:
        if not isinstance(current, dict):
            return None
        current = field(current, name)
    return current


def as_text(value: Any) -> str | None:
    """What a .NET string property holds after binding `value` (None if it cannot)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return str(value)
    return None


def text_or_none(value: Any) -> str | None:
    """Blank strings count as absent: a blank e-mail must not match another blank e-mail."""
    text = as_text(value)
    if text is not None and text.strip():
        return text.strip()
    return None


def is_bool(value: Any) -> bool:
    if isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and value.strip().lower() in ("true", "false", "")


def as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str) and value.strip():
        return value.strip().lower() == "true"
    return None


# The docs' "integer" is a .NET integer: Newtonsoft cannot bind a value beyond 64 bits to it.
_INT64 = range(-(2**63), 2**63)


def is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value in _INT64
    if isinstance(value, float):
        return math.isfinite(value) and round(value) in _INT64
    if isinstance(value, str):
        text = value.strip()
        return text.lstrip("+-").isdigit() and text.count("-") + text.count("+") <= 1 and int(text) in _INT64
    return False


def as_int(value: Any) -> int | None:
    if not is_int(value):
        return None
    return round(float(value)) if isinstance(value, float) else int(value)


def is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        try:
            return math.isfinite(float(value))
        except ValueError:
            return False
    return False


def is_iso_date(value: Any) -> bool:
    """ISO 8601: a date ("2024-11-21") or a date-time with any fraction and offset."""
    if not isinstance(value, str) or not value.strip():
        return False
    text = value.strip()
    try:
        if len(text) <= 10 and "T" not in text.upper():
            date.fromisoformat(text)
        else:
            datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return False
    return True


class Errors:
    """ASP.NET's ModelState: field path → every message for that field."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def add(self, path: str, message: str) -> None:
        messages = self.by_field.setdefault(path, [])
        if message not in messages:
            messages.append(message)

    def obj(
        self, parent: JsonObj | None, name: str, path: str, required: str | None = None
    ) -> JsonObj | None:
        value = field(parent, name)
        if value is None:
            if required:
                self.add(path, required)
            return None
        if not isinstance(value, dict):
            self.add(path, MSG_OBJECT)
            return None
        return value

    def array(
        self, parent: JsonObj | None, name: str, path: str, required: str | None = None
    ) -> list[Any] | None:
        value = field(parent, name)
        if value is None or value == []:
            if required:
                self.add(path, required)
            return None if value is None else []
        if not isinstance(value, list):
            self.add(path, MSG_ARRAY)
            return None
        return value

    def text(self, parent: JsonObj | None, name: str, path: str) -> None:
        self.text_value(field(parent, name), path)

    def text_value(self, value: Any, path: str) -> None:
        if value is not None and as_text(value) is None:
            self.add(path, MSG_TEXT)

    def text_list(self, parent: JsonObj | None, name: str, path: str) -> None:
        for index, item in enumerate(self.array(parent, name, path) or []):
            self.text_value(item, f"{path}[{index}]")

    def boolean(self, parent: JsonObj | None, name: str, path: str) -> None:
        value = field(parent, name)
        if value is not None and not is_bool(value):
            self.add(path, MSG_BOOL)

    def integer(self, parent: JsonObj | None, name: str, path: str) -> None:
        value = field(parent, name)
        if value is not None and not is_int(value):
            self.add(path, MSG_INT)

    def number(self, parent: JsonObj | None, name: str, path: str) -> None:
        value = field(parent, name)
        if value is not None and not is_number(value):
            self.add(path, MSG_NUMBER)

    def date(self, parent: JsonObj | None, name: str, path: str) -> None:
        value = field(parent, name)
        if value is not None and not is_iso_date(value):
            self.add(path, MSG_DATE)

    def enum(self, parent: JsonObj | None, name: str, path: str) -> None:
        """A member name or number; any name is taken, since no doc lists all the members."""
        value = field(parent, name)
        if value is None:
            return
        if isinstance(value, bool) or not (isinstance(value, str) or is_int(value)):
            self.add(path, MSG_ENUM)

    def coordinate(self, parent: JsonObj | None, name: str, path: str) -> None:
        self.coordinate_value(self.obj(parent, name, path), path)

    def coordinate_value(self, coordinate: JsonObj | None, path: str) -> None:
        if coordinate is not None:
            self.number(coordinate, "longitud", f"{path}.longitud")
            self.number(coordinate, "latitud", f"{path}.latitud")
