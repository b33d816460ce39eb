"""The inbound secret's clients (DESIGN §4): who may send, with which credentials, to which customers and
operations.

`INBOUND_SECRET_ID` holds `{"clients": {"<name>": {"apiKeys", "typeformSecrets", "webhookSecrets",
"vitecCustomers", "omnicasaCustomers", "operations", "mappings"}}}`. Parsing never fails as a whole
because of one client: a malformed value is skipped and reported as a `Problem` (client name, field,
reason; never the value), so one bad entry cannot turn every request on every route into a 500.

- A problem that could change what a client may reach (an unknown key, a wrong type, a bad client name)
  skips the whole client: a misspelt `operation` must not silently mean "every operation".
- A bad credential value (an API key under 16 characters, an empty Typeform secret, a `whsec_` secret
  that is not base64 or decodes to under 24 bytes, a placeholder from the deploy guide) skips only that
  value: the client's other credentials (e.g. the old key during a rotation) keep working.
- A broken mapping (`mappings.<operation>`, docs/inbound.md §5) disables that operation for that client
  until it is fixed (403, nothing sent; a signed sender's delivery is parked `forbidden` and can be
  replayed): read without its mapping, a sender's payload could reach the vendor in another shape. The
  client's other operations keep working. A mapping for an operation that is not a write is skipped.
- A credential listed under two clients is removed from both: it could not tell who is calling.
- The legacy flat format (`{"apiKeys": [...], ...}`) is read as one client `default` reaching every
  customer and operation, as it did before clients existed, and reported as a problem so that
  `leadhooks-ops secrets check` fails on it and the log says to migrate.

Standard library only: this runs on every request's path and must stay cheap to import.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from leadhooks.inbound.mapping import ClientMapping

ALL = "*"  # in a customer list: every customer of that vendor
LEGACY_CLIENT = "default"
MIN_API_KEY_CHARS = 16
MIN_WEBHOOK_KEY_BYTES = 24
WHSEC_PREFIX = "whsec_"
# Operations a client's `operations` may name: each route's last path segment (catalog `Entry.scope`),
# plus the read route `GET /deliveries/{id}`.
KNOWN_OPERATIONS = frozenset(
    {"person-leads", "area-interests", "viewing-participants", "contact-on-me", "contacts", "deliveries"}
)
CREDENTIAL_FIELDS = ("apiKeys", "typeformSecrets", "webhookSecrets")
CUSTOMER_FIELDS = {"vitecCustomers": "vitec", "omnicasaCustomers": "omnicasa"}
CLIENT_FIELDS = frozenset({*CREDENTIAL_FIELDS, *CUSTOMER_FIELDS, "operations", "mappings"})
# Operations a client's `mappings` may configure: the write routes (a read has no body to map).
MAPPABLE_OPERATIONS = KNOWN_OPERATIONS - {"contacts", "deliveries"}
_CLIENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# The deploy guide's placeholders (docs/deploy.md): publicly known text, never a credential.
_PLACEHOLDER = re.compile(r"REPLACE[_ -]?(ME|WITH)|CHANGE[_ -]?ME", re.IGNORECASE)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the inbound secret, named by client and field, never by value."""

    client: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"client {self.client}: {self.field}: {self.reason}"


@dataclass(frozen=True)
class Reach:
    """What one client may reach. Customer sets may hold `ALL`; `operations` None means every operation."""

    vitec_customers: frozenset[str] = frozenset()
    omnicasa_customers: frozenset[str] = frozenset()
    operations: frozenset[str] | None = None

    def may_use(self, operation: str) -> bool:
        return self.operations is None or operation in self.operations

    def customers(self, vendor: str) -> frozenset[str]:
        return self.vitec_customers if vendor == "vitec" else self.omnicasa_customers

    def may_reach(self, vendor: str, customer_id: str | None) -> bool:
        """A customer the request names; None (not given) is reachable only by a client with `"*"`."""
        allowed = self.customers(vendor)
        if ALL in allowed:
            return True
        return customer_id is not None and normalise_customer(vendor, customer_id) in allowed


EVERYTHING = Reach(frozenset({ALL}), frozenset({ALL}), None)


@dataclass(frozen=True)
class Client:
    """One sender and its credentials (several of a kind during a rotation)."""

    name: str
    api_keys: tuple[str, ...] = ()
    typeform_secrets: tuple[str, ...] = ()
    webhook_secrets: tuple[bytes, ...] = ()  # decoded signing keys of the `whsec_…` secrets
    reach: Reach = field(default_factory=Reach)
    mappings: Mapping[str, ClientMapping] = field(default_factory=dict)  # operation scope → mapping(s)

    def credential_kinds(self) -> list[str]:
        values = (self.api_keys, self.typeform_secrets, self.webhook_secrets)
        return [name for name, given in zip(CREDENTIAL_FIELDS, values, strict=True) if given]


@dataclass(frozen=True)
class InboundSecrets:
    """The parsed inbound secret: the usable clients and what was skipped."""

    clients: tuple[Client, ...] = ()
    problems: tuple[Problem, ...] = ()
    legacy: bool = False

    def client(self, name: str) -> Client | None:
        """The usable client of that name, if any."""
        return next((c for c in self.clients if c.name == name), None)

    @classmethod
    def from_json(cls, data: Any, *, min_api_key_chars: int = MIN_API_KEY_CHARS) -> InboundSecrets:
        return parse_clients(data, min_api_key_chars=min_api_key_chars)


def normalise_customer(vendor: str, value: str) -> str:
    """The form a customer id is compared in: stripped; Omnicasa's numeric ids without leading zeros."""
    text = value.strip()
    if vendor == "omnicasa" and text.isascii() and text.isdigit():
        return str(int(text))
    return text


def decode_webhook_secret(secret: str) -> bytes | None:
    """`whsec_<base64>` (or bare base64, as the reference libraries accept) → key bytes, else None."""
    body = secret[len(WHSEC_PREFIX) :] if secret.startswith(WHSEC_PREFIX) else secret
    body = body.strip()
    if not body or not body.isascii():
        return None
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except (binascii.Error, ValueError):
        return None


# ---- parsing -----------------------------------------------------------------------------------


class _SkipClientError(Exception):
    """This client cannot be used: its scope or shape is in doubt."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field_name = field_name
        self.reason = reason


def parse_clients(data: Any, *, min_api_key_chars: int = MIN_API_KEY_CHARS) -> InboundSecrets:
    """Read the inbound secret; never raises: whatever is wrong becomes a `Problem`."""
    problems: list[Problem] = []
    if not isinstance(data, Mapping):
        return InboundSecrets(problems=(Problem("-", "(secret)", "must be a JSON object"),))
    legacy = "clients" not in data and any(key in data for key in CREDENTIAL_FIELDS)
    entries = _legacy_entries(data, problems) if legacy else _client_entries(data, problems)
    clients: list[Client] = []
    for index, (name, entry) in enumerate(entries.items()):
        label = _client_label(index, name)
        try:
            if label != name:
                raise _SkipClientError(
                    "(name)", "a client name is 1-64 letters, digits and ._- (client skipped)"
                )
            clients.append(_client(label, entry, legacy, min_api_key_chars, problems))
        except _SkipClientError as skip:
            problems.append(Problem(label, skip.field_name, skip.reason))
    clients = _without_shared_credentials(clients, problems)
    return InboundSecrets(clients=tuple(clients), problems=tuple(problems), legacy=legacy)


def _client_label(index: int, name: Any) -> str:
    """The name a client is reported by: its own if valid, else its position (a bad name is not echoed)."""
    return str(name) if isinstance(name, str) and _CLIENT_NAME.match(name) else f"#{index + 1}"


def _legacy_entries(data: Mapping[Any, Any], problems: list[Problem]) -> Mapping[str, Any]:
    """The flat format's lists as the one client `default`, reported so that it gets migrated."""
    problems.append(
        Problem(
            LEGACY_CLIENT,
            "(secret)",
            "legacy flat format: read as one client 'default' reaching every customer and operation; "
            'move its lists under {"clients": {"<name>": {...}}} with the customers it may reach',
        )
    )
    problems += [Problem("-", str(key), "unknown key") for key in data if key not in CREDENTIAL_FIELDS]
    return {LEGACY_CLIENT: {k: data[k] for k in data if k in CREDENTIAL_FIELDS}}


def _client_entries(data: Mapping[Any, Any], problems: list[Problem]) -> Mapping[Any, Any]:
    """The `clients` object; missing or not an object means no client (reported), never a crash."""
    problems += [Problem("-", _field_label(key), "unknown key (ignored)") for key in data if key != "clients"]
    raw_clients = data.get("clients")
    if raw_clients is None:
        problems.append(Problem("-", "clients", "missing: no client can authenticate"))
        return {}
    if not isinstance(raw_clients, Mapping):
        problems.append(Problem("-", "clients", "must be an object of client name -> client"))
        return {}
    return raw_clients


def _field_label(key: Any) -> str:
    text = str(key)
    return text if re.fullmatch(r"[A-Za-z0-9_.-]{1,40}", text) else "(a key)"


# Reports one skipped credential value: (field, reason).
_BadValue = Callable[[str, str], None]
_PLACEHOLDER_REASON = "is a placeholder from the deploy guide"


def _client(name: str, entry: Any, legacy: bool, min_api_key_chars: int, problems: list[Problem]) -> Client:
    _check_fields(entry)

    def bad_value(field_name: str, reason: str) -> None:
        problems.append(Problem(name, field_name, f"{reason} (this value is skipped)"))

    api_keys = _api_keys(entry, min_api_key_chars, bad_value)
    typeform = _typeform_secrets(entry, bad_value)
    webhook = _webhook_keys(entry, bad_value)
    if legacy:
        return Client(name, api_keys, typeform, webhook, EVERYTHING)
    customers = {vendor: _customers(entry, key, vendor) for key, vendor in CUSTOMER_FIELDS.items()}
    operations = _operations(name, entry, problems)
    mappings, broken = _mappings(name, entry, problems)
    if broken:
        operations = (KNOWN_OPERATIONS if operations is None else operations) - broken
    reach = Reach(customers["vitec"], customers["omnicasa"], operations)
    return Client(name, api_keys, typeform, webhook, reach, mappings)


def _check_fields(entry: Any) -> None:
    """A client entry is an object of known fields only: anything else puts its scope in doubt."""
    if not isinstance(entry, Mapping):
        raise _SkipClientError("(entry)", "must be an object (client skipped)")
    unknown = next((key for key in entry if key not in CLIENT_FIELDS), None)
    if unknown is not None:
        raise _SkipClientError(
            _field_label(unknown), "unknown key (client skipped: it could change what it may reach)"
        )


def _api_keys(entry: Mapping[str, Any], min_chars: int, bad_value: _BadValue) -> tuple[str, ...]:
    kept: list[str] = []
    for i, key in enumerate(_strings(entry, "apiKeys")):
        if _PLACEHOLDER.search(key):
            bad_value(f"apiKeys[{i}]", _PLACEHOLDER_REASON)
        elif len(key) < min_chars:
            bad_value(f"apiKeys[{i}]", f"is shorter than {min_chars} characters")
        else:
            kept.append(key)
    return tuple(kept)


def _typeform_secrets(entry: Mapping[str, Any], bad_value: _BadValue) -> tuple[str, ...]:
    kept: list[str] = []
    for i, secret in enumerate(_strings(entry, "typeformSecrets")):
        if not secret:
            bad_value(f"typeformSecrets[{i}]", "is empty")
        elif _PLACEHOLDER.search(secret):
            bad_value(f"typeformSecrets[{i}]", _PLACEHOLDER_REASON)
        else:
            kept.append(secret)
    return tuple(kept)


def _webhook_keys(entry: Mapping[str, Any], bad_value: _BadValue) -> tuple[bytes, ...]:
    """The decoded signing keys of the client's `whsec_…` secrets."""
    kept: list[bytes] = []
    for i, secret in enumerate(_strings(entry, "webhookSecrets")):
        key = decode_webhook_secret(secret)
        if key is None:
            placeholder = _PLACEHOLDER.search(secret)
            reason = "is not a Standard Webhooks secret ('whsec_' + base64)"
            bad_value(f"webhookSecrets[{i}]", _PLACEHOLDER_REASON if placeholder else reason)
        elif len(key) < MIN_WEBHOOK_KEY_BYTES:
            bad_value(f"webhookSecrets[{i}]", f"decodes to under {MIN_WEBHOOK_KEY_BYTES} bytes")
        else:
            kept.append(key)
    return tuple(kept)


def _strings(entry: Mapping[str, Any], key: str) -> list[str]:
    value = entry.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _SkipClientError(key, "must be a list of strings (client skipped)")
    return [item.strip() for item in value]


def _customers(entry: Mapping[str, Any], key: str, vendor: str) -> frozenset[str]:
    """Absent means no customer of that vendor (the safe default)."""
    value = entry.get(key)
    if value is None:
        return frozenset()
    ok = isinstance(value, list) and all(
        (isinstance(v, str) and v.strip()) or (isinstance(v, int) and not isinstance(v, bool)) for v in value
    )
    if not ok:
        raise _SkipClientError(key, 'must be a list of customer ids or "*" (client skipped)')
    return frozenset(normalise_customer(vendor, str(v)) for v in value)


def _operations(name: str, entry: Mapping[str, Any], problems: list[Problem]) -> frozenset[str] | None:
    """Absent means every operation; an unknown name grants nothing and is reported."""
    value = entry.get("operations")
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _SkipClientError("operations", "must be a list of operation names (client skipped)")
    known = {v.strip() for v in value} & KNOWN_OPERATIONS
    for i, op in enumerate(value):
        if op.strip() not in KNOWN_OPERATIONS:
            problems.append(
                Problem(
                    name,
                    f"operations[{i}]",
                    f"unknown operation; known: {', '.join(sorted(KNOWN_OPERATIONS))}",
                )
            )
    return frozenset(known)


def _mappings(
    name: str, entry: Mapping[str, Any], problems: list[Problem]
) -> tuple[dict[str, ClientMapping], frozenset[str]]:
    """The client's mappings by operation, and the operations whose mapping is broken (disabled)."""
    value = entry.get("mappings")
    if value is None:
        return {}, frozenset()
    if not isinstance(value, Mapping):
        raise _SkipClientError("mappings", "must be an object of operation -> mapping (client skipped)")
    from leadhooks.inbound.mapping import MappingError, parse_client_mapping  # only for clients with one

    parsed: dict[str, ClientMapping] = {}
    broken: set[str] = set()
    for scope, raw in value.items():
        if scope not in MAPPABLE_OPERATIONS:
            known = ", ".join(sorted(MAPPABLE_OPERATIONS))
            problems.append(
                Problem(name, f"mappings.{_field_label(scope)}", f"not a write operation; known: {known}")
            )
            continue
        try:
            parsed[scope] = parse_client_mapping(raw, f"mappings.{scope}")
        except MappingError as exc:
            broken.add(scope)
            problems.append(
                Problem(name, f"mappings.{scope}", f"{exc.message} (operation disabled for this client)")
            )
    return parsed, frozenset(broken)


def _without_shared_credentials(clients: list[Client], problems: list[Problem]) -> list[Client]:
    """A credential under two clients cannot say which one is calling: it is removed from every one."""
    owners = {
        "apiKeys": _owners((c.name, k) for c in clients for k in c.api_keys),
        "typeformSecrets": _owners((c.name, s) for c in clients for s in c.typeform_secrets),
        "webhookSecrets": _owners((c.name, s) for c in clients for s in c.webhook_secrets),
    }
    return [_own_credentials_only(client, owners, problems) for client in clients]


def _owners(values: Iterable[tuple[str, str | bytes]]) -> dict[str | bytes, set[str]]:
    """Each credential value → the names of the clients that list it."""
    found: dict[str | bytes, set[str]] = {}
    for client_name, value in values:
        found.setdefault(value, set()).add(client_name)
    return found


def _own_credentials_only(
    client: Client, owners: Mapping[str, dict[str | bytes, set[str]]], problems: list[Problem]
) -> Client:
    """The client without the credentials another client also lists (reported per field)."""
    kept: dict[str, tuple[Any, ...]] = {}
    given: dict[str, tuple[str | bytes, ...]] = {
        "apiKeys": client.api_keys,
        "typeformSecrets": client.typeform_secrets,
        "webhookSecrets": client.webhook_secrets,
    }
    for field_name, values in given.items():
        unique = tuple(v for v in values if len(owners[field_name][v]) == 1)
        if len(unique) != len(values):
            problems.append(
                Problem(client.name, field_name, "a value is also another client's (skipped for both)")
            )
        kept[field_name] = unique
    return Client(
        client.name,
        kept["apiKeys"],
        kept["typeformSecrets"],
        kept["webhookSecrets"],
        client.reach,
        client.mappings,
    )


def fingerprint(data: Any) -> str:
    """A stable id of one secret value (its "version"): problems are logged once per fingerprint."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def one_client(
    name: str = LEGACY_CLIENT,
    *,
    api_keys: Iterable[str] = (),
    typeform_secrets: Iterable[str] = (),
    webhook_secrets: Iterable[str] = (),
    reach: Reach = EVERYTHING,
) -> InboundSecrets:
    """An inbound secret of one client, built in code (tests, tools); webhook secrets as `whsec_…` text."""
    keys = tuple(key for key in (decode_webhook_secret(s) for s in webhook_secrets) if key)
    client = Client(name, tuple(api_keys), tuple(typeform_secrets), keys, reach)
    return InboundSecrets(clients=(client,))
