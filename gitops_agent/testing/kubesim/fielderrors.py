"""Field errors as ``k8s.io/apimachinery/pkg/util/validation/field`` words them, and the
name and value formats of ``k8s.io/apimachinery/pkg/util/validation``.

``invalid``, ``required``, ``forbidden``, ``not_supported``, ``not_found``, ``duplicate`` and
``too_long`` build a ``Cause`` whose message is ``ErrorBody()`` (the bad value printed as Go
prints it); the ``is_*`` functions return the messages of ``IsDNS1123Label``,
``IsQualifiedName``... for a value, every pattern matched against the whole string (a trailing
newline is not accepted, as with Go's ``regexp``). Used by the ``*rules.py`` modules.
"""

from __future__ import annotations

import json
import re
from typing import Any

from gitops_agent.testing.kubesim.errors import Cause

LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
SUBDOMAIN_FMT = LABEL_FMT + r"(\." + LABEL_FMT + ")*"
DNS1035_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?"
QUALIFIED_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
LABEL_VALUE_FMT = "(" + QUALIFIED_FMT + ")?"
CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+"
PERCENT_FMT = "[0-9]+%"
_PATTERNS: dict[str, re.Pattern[str]] = {}


def matches(fmt: str, value: str) -> bool:
    """True when ``value`` is wholly of the form ``fmt`` (Go's ``^fmt$``: no trailing newline)."""
    pattern = _PATTERNS.get(fmt)
    if pattern is None:
        pattern = _PATTERNS[fmt] = re.compile(fmt)
    return pattern.fullmatch(value) is not None


def regex_error(message: str, fmt: str, *examples: str) -> str:
    """``validation.RegexError``: the message, examples and the pattern."""
    if examples:
        shown = ",  or ".join(f"'{e}'" for e in examples)
        message += f" (e.g. {shown}, regex used for validation is '{fmt}')"
        return message
    return message + f" (regex used for validation is '{fmt}')"


def go_quote(text: str) -> str:
    """Go's ``%q`` of a string."""
    return json.dumps(text, ensure_ascii=False)


def go_value(value: Any) -> str:
    """A bad value as ``field.Error.ErrorBody`` prints it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(go_quote(v) for v in value) + "}"
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        inner = ", ".join(f"{go_quote(k)}:{go_quote(v)}" for k, v in sorted(value.items()))
        return "map[string]string{" + inner + "}"
    return str(value)


def int_or_string(value: Any) -> str:
    """``%#v`` of an ``intstr.IntOrString``."""
    if isinstance(value, str):
        return f"intstr.IntOrString{{Type:1, IntVal:0, StrVal:{go_quote(value)}}}"
    number = value if isinstance(value, int) else 0
    return f'intstr.IntOrString{{Type:0, IntVal:{number}, StrVal:""}}'


def label_selector(selector: Any) -> str:
    """``%#v`` of a ``v1.LabelSelector`` (``null`` for none)."""
    if not isinstance(selector, dict):
        return "null"
    labels = selector.get("matchLabels") or {}
    shown = ", ".join(f"{go_quote(k)}:{go_quote(str(v))}" for k, v in sorted(labels.items()))
    match = f"map[string]string{{{shown}}}" if labels else "map[string]string(nil)"
    requirements = [
        f"v1.LabelSelectorRequirement{{Key:{go_quote(str(r.get('key')))}, "
        f"Operator:{go_quote(str(r.get('operator')))}, "
        f"Values:{go_value(list(r.get('values') or [])) if r.get('values') else '[]string(nil)'}}}"
        for r in selector.get("matchExpressions") or []
    ]
    expressions = (
        "[]v1.LabelSelectorRequirement{" + ", ".join(requirements) + "}"
        if requirements
        else "[]v1.LabelSelectorRequirement(nil)"
    )
    return f"v1.LabelSelector{{MatchLabels:{match}, MatchExpressions:{expressions}}}"


class Raw(str):
    """A value already printed the Go way (``invalid`` shows it as it is)."""


def invalid(field: str, value: Any, detail: str) -> Cause:
    shown = value if isinstance(value, Raw) else go_value(value)
    return Cause("FieldValueInvalid", f"Invalid value: {shown}: {detail}", field)


def required(field: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""), field)


def forbidden(field: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", field)


def not_supported(field: str, value: Any, allowed: tuple[str, ...] | list[str]) -> Cause:
    listed = ", ".join(go_quote(a) for a in allowed)
    return Cause(
        "FieldValueNotSupported",
        f"Unsupported value: {go_value(value)}: supported values: {listed}",
        field,
    )


def not_found(field: str, value: Any) -> Cause:
    return Cause("FieldValueNotFound", f"Not found: {go_value(value)}", field)


def duplicate(field: str, value: Any) -> Cause:
    shown = value if isinstance(value, Raw) else go_value(value)
    return Cause("FieldValueDuplicate", f"Duplicate value: {shown}", field)


def too_long(field: str, limit: int) -> Cause:
    """``field.TooLong`` of Kubernetes 1.32 (1.30 and 1.31 said "must have at most")."""
    return Cause("FieldValueTooLong", f"Too long: may not be more than {limit} bytes", field)


def nonnegative(field: str, value: Any) -> list[Cause]:
    """``ValidateNonnegativeField``."""
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        return [invalid(field, value, "must be greater than or equal to 0")]
    return []


LABEL_MSG = regex_error(
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character",
    LABEL_FMT,
    "my-name",
    "123-abc",
)
SUBDOMAIN_MSG = regex_error(
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character",
    SUBDOMAIN_FMT,
    "example.com",
)
DNS1035_MSG = regex_error(
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character",
    DNS1035_FMT,
    "my-name",
    "abc-123",
)
QUALIFIED_ERR = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character"
)
QUALIFIED_MSG = "name part " + regex_error(
    QUALIFIED_ERR, QUALIFIED_FMT, "MyName", "my.name", "123-abc"
)
LABEL_VALUE_MSG = regex_error(
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character",
    LABEL_VALUE_FMT,
    "MyValue",
    "my_value",
    "12345",
)
CONFIG_KEY_MSG = regex_error(
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
    CONFIG_KEY_FMT,
    "key.name",
    "KEY_NAME",
    "key-name",
)
PERCENT_MSG = regex_error(
    "a valid percent string must be a numeric string followed by an ending '%'",
    PERCENT_FMT,
    "1%",
    "93%",
)
ENV_NAME_MSG = (
    "a valid environment variable name must consist only of printable ASCII characters other "
    "than '='"
)


def max_len(limit: int) -> str:
    return f"must be no more than {limit} characters"


def is_dns1123_label(value: str) -> list[str]:
    out = [max_len(63)] if len(value) > 63 else []
    if matches(LABEL_FMT, value):
        return out
    return [*out, "must not contain dots" if matches(SUBDOMAIN_FMT, value) else LABEL_MSG]


def is_dns1123_subdomain(value: str) -> list[str]:
    out = [max_len(253)] if len(value) > 253 else []
    return out + ([] if matches(SUBDOMAIN_FMT, value) else [SUBDOMAIN_MSG])


def is_dns1035_label(value: str) -> list[str]:
    out = [max_len(63)] if len(value) > 63 else []
    return out + ([] if matches(DNS1035_FMT, value) else [DNS1035_MSG])


def is_qualified_name(value: str) -> list[str]:
    """``IsQualifiedName``: an optional DNS subdomain prefix and a name part."""
    parts = value.split("/")
    if len(parts) > 2:
        shape = regex_error(QUALIFIED_ERR, QUALIFIED_FMT, "MyName", "my.name", "123-abc")
        return [
            f"a qualified name {shape} with an optional DNS subdomain prefix and '/' "
            "(e.g. 'example.com/MyName')"
        ]
    errs: list[str] = []
    name = parts[-1]
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in is_dns1123_subdomain(prefix))
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + max_len(63))
    if not matches(QUALIFIED_FMT, name):
        errs.append(QUALIFIED_MSG)
    return errs


def is_label_value(value: str) -> list[str]:
    out = [max_len(63)] if len(value) > 63 else []
    return out + ([] if matches(LABEL_VALUE_FMT, value) else [LABEL_VALUE_MSG])


def is_config_key(value: str) -> list[str]:
    out = [max_len(253)] if len(value) > 253 else []
    if not matches(CONFIG_KEY_FMT, value):
        out.append(CONFIG_KEY_MSG)
    if value == ".":
        out.append("must not be '.'")
    elif value == "..":
        out.append("must not be '..'")
    elif value.startswith(".."):
        out.append("must not start with '..'")
    return out


def each(field: str, value: str, messages: list[str]) -> list[Cause]:
    """One ``invalid`` cause per message."""
    return [invalid(field, value, m) for m in messages]
