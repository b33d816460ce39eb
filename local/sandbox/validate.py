"""Reading and checking vendor JSON bodies the way ASP.NET model binding does.

Both vendors run on ASP.NET with Newtonsoft.Json: property names match case-insensitively
(that is why Vitec's own curl sample can say `sMSReminder`), unknown properties are ignored
and `null` means "not given". Every failing field is collected, never just the first.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

JsonObj = dict[str, Any]

_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

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
    if obj is None:
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


def text_or_none(value: Any) -> str | None:
    """Blank strings count as absent: a blank e-mail must not match another blank e-mail."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def length_message(label: str, max_len: int) -> str:
    """Worded like Vitec's docs, e.g. 'Förnamn måste vara mellan 0 och 30 tecken'."""
    return f"{label} måste vara mellan 0 och {max_len} tecken"


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

    def text(
        self,
        parent: JsonObj | None,
        name: str,
        path: str,
        max_len: int | None = None,
        label: str | None = None,
        required: str | None = None,
    ) -> str | None:
        return self.text_value(field(parent, name), path, max_len, label, required)

    def text_value(
        self,
        value: Any,
        path: str,
        max_len: int | None = None,
        label: str | None = None,
        required: str | None = None,
    ) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip() and required):
            if required:
                self.add(path, required)
            return None
        if not isinstance(value, str):
            self.add(path, MSG_TEXT)
            return None
        if max_len is not None and len(value) > max_len:
            self.add(path, length_message(label or path, max_len))
        return value

    def text_list(
        self,
        parent: JsonObj | None,
        name: str,
        path: str,
        max_len: int | None = None,
        label: str | None = None,
    ) -> None:
        items = self.array(parent, name, path)
        for index, item in enumerate(items or []):
            self.text_value(item, f"{path}[{index}]", max_len, label)

    def boolean(self, parent: JsonObj | None, name: str, path: str) -> bool | None:
        value = field(parent, name)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.add(path, MSG_BOOL)
            return None
        return value

    def integer(self, parent: JsonObj | None, name: str, path: str) -> int | None:
        value = field(parent, name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, MSG_INT)
            return None
        return value

    def number(self, parent: JsonObj | None, name: str, path: str) -> None:
        value = field(parent, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            self.add(path, MSG_NUMBER)

    def date(self, parent: JsonObj | None, name: str, path: str) -> None:
        value = field(parent, name)
        if value is None:
            return
        if not isinstance(value, str):
            self.add(path, MSG_DATE)
            return
        try:
            datetime.fromisoformat(value)
        except ValueError:
            self.add(path, MSG_DATE)

    def enum(self, parent: JsonObj | None, name: str, path: str, required: str | None = None) -> None:
        """Enums arrive as a member name ("AcceptObjectFlow") or its number, like Newtonsoft accepts."""
        value = field(parent, name)
        if value is None:
            if required:
                self.add(path, required)
            return
        if isinstance(value, bool):
            self.add(path, MSG_ENUM)
        elif isinstance(value, int):
            if value < 0:
                self.add(path, MSG_ENUM)
        elif not isinstance(value, str) or not (_IDENTIFIER.match(value) or value.isdigit()):
            self.add(path, MSG_ENUM)

    def coordinate(self, parent: JsonObj | None, name: str, path: str) -> None:
        coordinate = self.obj(parent, name, path)
        self.coordinate_value(coordinate, path)

    def coordinate_value(self, coordinate: JsonObj | None, path: str) -> None:
        if coordinate is not None:
            self.number(coordinate, "longitud", f"{path}.longitud")
            self.number(coordinate, "latitud", f"{path}.latitud")
