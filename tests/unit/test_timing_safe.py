"""Constant-time comparison of secrets in `leadhooks.inbound.auth` (DESIGN §4, issue #6 item 4).

Two checks:

- **Code**: an AST scan of auth.py. Values derived from a secret, a key, an HMAC digest or a decoded
  signature are tracked through assignments, loops and comprehensions; none of them may meet `==`, `!=`,
  `in`, `not in`, a string search method (`startswith`, `find`, …), a dictionary lookup or a subscript
  by value. Only `hmac.compare_digest` may compare them. The few comparisons that touch such a value
  without comparing secret material are listed in `ALLOWED`, each with its reason.
- **Behaviour**: `compare_digest` is called against every configured key or secret, also when the first
  one matches (no early exit that would tell, by timing, which position matched or how many there are).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import inspect
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from leadhooks.errors import AuthenticationError
from leadhooks.inbound import auth
from leadhooks.inbound.auth import authenticate
from leadhooks.inbound.clients import one_client

# Names that hold secret material wherever they appear in auth.py.
SECRET_NAMES = frozenset(
    {"secrets", "secret", "keys", "key", "expected", "provided", "signature", "candidate"}
)
# Attributes of a Client (leadhooks.inbound.clients).
SECRET_ATTRIBUTES = frozenset({"api_keys", "typeform_secrets", "webhook_secrets"})
# Calls whose result is secret material: digests, decoded signatures and decoded signing keys.
SECRET_CALLS = frozenset(
    {"new", "digest", "_b64decode", "_decode_webhook_secret", "_v1_signatures", "standard_webhooks_signature"}
)
# Calls whose result is not secret even when their arguments are (a bool, a length, a type test).
# `_owner` returns which client matched (found with compare_digest only), not secret material.
SANITIZERS = frozenset({"compare_digest", "_owner", "len", "isinstance", "bool"})
# Methods that compare by content and stop at the first difference.
SEARCH_METHODS = frozenset(
    {"startswith", "endswith", "find", "rfind", "index", "rindex", "count", "removeprefix", "removesuffix",
     "__eq__", "__ne__", "__contains__", "get"}
)  # fmt: skip
# (function, source of the expression) -> why it is not a secret comparison.
# (Parsing and decoding the configured secrets moved to leadhooks.inbound.clients: no caller value there.)
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Finding:
    function: str
    source: str
    line: int


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _targets(node: ast.AST) -> Iterator[str]:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            yield sub.id


class SecretFlow:
    """Which names in one function hold secret material, and which comparisons touch them."""

    def __init__(self, function: ast.FunctionDef) -> None:
        self.function = function
        self.tainted: set[str] = set(SECRET_NAMES)
        self._propagate()

    def mentions(self, node: ast.AST | None) -> bool:
        """Whether the expression carries secret material (sanitizer calls stop the search)."""
        if node is None:
            return False
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in SANITIZERS:
                return False
            if name in SECRET_CALLS:
                return True
        if isinstance(node, ast.Name):
            return node.id in self.tainted
        if isinstance(node, ast.Attribute) and node.attr in SECRET_ATTRIBUTES:
            return True
        return any(self.mentions(child) for child in ast.iter_child_nodes(node))

    def _propagate(self) -> None:
        changed = True
        while changed:
            changed = False
            for node in ast.walk(self.function):
                pairs: list[tuple[ast.AST, ast.AST | None]] = []
                if isinstance(node, ast.Assign):
                    pairs = [(target, node.value) for target in node.targets]
                elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.NamedExpr):
                    pairs = [(node.target, node.value)]
                elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                    pairs = [(node.target, node.iter)]
                for target, value in pairs:
                    if self.mentions(value):
                        new = set(_targets(target)) - self.tainted
                        if new:
                            self.tainted |= new
                            changed = True

    def findings(self) -> list[Finding]:
        found: list[Finding] = []

        def add(node: ast.AST) -> None:
            found.append(Finding(self.function.name, ast.unparse(node), getattr(node, "lineno", 0)))

        for node in ast.walk(self.function):
            if isinstance(node, ast.Compare):
                operands = [node.left, *node.comparators]
                value_ops = [op for op in node.ops if isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn)]
                if value_ops and any(self.mentions(operand) for operand in operands):
                    add(node)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in SEARCH_METHODS and (
                    self.mentions(node.func.value) or any(self.mentions(arg) for arg in node.args)
                ):
                    add(node)
            elif (isinstance(node, ast.Subscript) and self.mentions(node.slice)) or (
                isinstance(node, ast.Match) and self.mentions(node.subject)
            ):
                add(node)
        return found


def scan(source: str) -> list[Finding]:
    tree = ast.parse(source)
    return [
        finding
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        for finding in SecretFlow(node).findings()
    ]


@pytest.fixture(scope="module")
def auth_source() -> str:
    return inspect.getsource(auth)


# ---- the code ---------------------------------------------------------------------------------------


def test_no_secret_is_compared_except_by_compare_digest(auth_source: str) -> None:
    findings = scan(auth_source)
    unexplained = [f for f in findings if (f.function, f.source) not in ALLOWED]
    assert not unexplained, "secret material compared without hmac.compare_digest:\n" + "\n".join(
        f"  auth.py:{f.line} in {f.function}(): {f.source}" for f in unexplained
    )
    stale = set(ALLOWED) - {(f.function, f.source) for f in findings}
    assert not stale, f"ALLOWED lists comparisons that are gone: {sorted(stale)}"


def test_every_secret_check_goes_through_compare_digest(auth_source: str) -> None:
    tree = ast.parse(auth_source)
    callers = {
        function.name
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "compare_digest"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "hmac"
    }
    # Every scheme through _owner, which compares against every value of every client.
    assert callers == {"_owner"}
    uses_owner = {
        function.name
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and _call_name(node) == "_owner"
    }
    assert {"_typeform", "_standard_webhooks", "_api_key"} <= uses_owner


VULNERABLE = {
    "equality": "def f(header, keys):\n    for key in keys:\n        if header == key:\n            return 1",
    "membership": "def f(provided, secrets):\n    return provided in secrets.api_keys\n",
    "digest equality": (
        "def f(raw, secret, sig):\n    mac = hmac.new(secret, raw).digest()\n    return sig != mac\n"
    ),
    "propagated through a loop": (
        "def f(sig, secrets):\n    for s in secrets.webhook_secrets:\n        k = s.encode()\n"
        "        if sig == k:\n            return 1\n"
    ),
    "comprehension": "def f(sig, keys):\n    return any(sig == k for k in keys)\n",
    "prefix search": "def f(header, secrets):\n    return secrets.api_keys[0].startswith(header)\n",
    "dictionary lookup": "def f(h, keys):\n    table = dict.fromkeys(keys)\n    return table.get(h)",
    "subscript lookup": "def f(table, provided):\n    return table[provided]\n",
    "decoded signature": "def f(header, good):\n    sig = _b64decode(header)\n    return sig == good\n",
}


@pytest.mark.parametrize("name", list(VULNERABLE))
def test_the_scan_finds_planted_comparisons(name: str) -> None:
    """The scan is not vacuous: each of these non-constant-time comparisons is reported."""
    assert scan(VULNERABLE[name]), name


def test_the_scan_accepts_constant_time_comparisons() -> None:
    safe = textwrap.dedent(
        """
        def f(header, keys, raw, secret):
            provided = header.strip().encode()
            matched = False
            for key in keys:
                matched |= hmac.compare_digest(provided, key.encode())
            expected = [hmac.new(secret.encode(), raw, 'sha256').digest()]
            ok = _any_equal(provided, expected)
            if len(provided) != 32 or provided is None:
                return False
            return matched and ok
        """
    )
    assert scan(safe) == []


# ---- behaviour: every configured value is compared, no early exit -----------------------------------

KEYS = ("first-api-key-0001", "second-api-key-0002", "third-api-key-0003")
TYPEFORM = ("typeform-secret-1", "typeform-secret-2", "typeform-secret-3")
WEBHOOK = tuple("whsec_" + base64.b64encode(f"webhook-secret-{i}".encode()).decode() for i in range(3))
SECRETS = one_client(api_keys=KEYS, typeform_secrets=TYPEFORM, webhook_secrets=WEBHOOK)
BODY = b'{"customerId":"M10001"}'
NOW = 1_750_000_000


@pytest.fixture
def compare_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes, bytes]]:
    """Every hmac.compare_digest call auth.py makes, with its arguments (the real comparison still runs)."""
    calls: list[tuple[bytes, bytes]] = []
    real: Callable[[Any, Any], bool] = hmac.compare_digest

    def counting(a: Any, b: Any) -> bool:
        calls.append((bytes(a), bytes(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)  # auth.py calls it as hmac.compare_digest
    return calls


@pytest.mark.parametrize("position", [0, 1, 2])
def test_api_key_is_compared_against_every_key(
    compare_calls: list[tuple[bytes, bytes]], position: int
) -> None:
    authenticate({"x-api-key": KEYS[position]}, BODY, SECRETS)
    assert len(compare_calls) == len(KEYS), "one comparison per configured key, whichever matched"
    assert [b for _, b in compare_calls] == [k.encode() for k in KEYS]
    assert all(a == KEYS[position].encode() for a, _ in compare_calls)


def test_a_wrong_api_key_is_compared_against_every_key(compare_calls: list[tuple[bytes, bytes]]) -> None:
    with pytest.raises(AuthenticationError):
        authenticate({"x-api-key": "not-a-key-at-all"}, BODY, SECRETS)
    assert len(compare_calls) == len(KEYS)


@pytest.mark.parametrize("position", [0, 2])
def test_typeform_signature_is_compared_against_every_secret(
    compare_calls: list[tuple[bytes, bytes]], position: int
) -> None:
    digest = hmac.new(TYPEFORM[position].encode(), BODY, hashlib.sha256).digest()
    authenticate({"Typeform-Signature": "sha256=" + base64.b64encode(digest).decode()}, BODY, SECRETS)
    assert len(compare_calls) == len(TYPEFORM)
    assert all(a == digest for a, _ in compare_calls)


def test_every_webhook_signature_is_compared_against_every_secret(
    compare_calls: list[tuple[bytes, bytes]],
) -> None:
    """Two `v1,` entries (a rotating sender), the first one valid: still 2 x 3 comparisons."""

    def sign(secret: str) -> str:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        digest = hmac.new(key, f"msg_1.{NOW}.".encode() + BODY, hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode()

    other = "whsec_" + base64.b64encode(b"a-secret-nobody-configured").decode()
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(NOW),
        "webhook-signature": f"{sign(WEBHOOK[0])} {sign(other)}",
    }
    authenticate(headers, BODY, SECRETS, now=NOW)
    assert len(compare_calls) == 2 * len(WEBHOOK)
