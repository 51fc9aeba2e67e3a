"""The protobuf bodies of the two review requests kubectl sends: SelfSubjectAccessReview
(``kubectl auth can-i``) and TokenRequest (``kubectl create token``).

kubectl's typed clients send ``application/vnd.kubernetes.protobuf``: the ``k8s\\x00``
magic, then a ``runtime.Unknown`` whose ``raw`` field holds the message. Only the fields of
these two requests are read (their numbers from the ``protobuf`` tags of
``k8s.io/api/authorization/v1`` and ``authentication/v1`` ``types.go``); the answer is JSON,
which kubectl accepts. Called by ``handlers.py`` for those two paths only.
"""

from __future__ import annotations

from typing import Any

from gitops_agent.testing.kubesim import errors

Obj = dict[str, Any]
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# field number -> (JSON name, "s" string | "i" integer | "r" repeated string | message name)
_MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", "b")},
    "TypeMeta": {1: ("apiVersion", "s"), 2: ("kind", "s")},
    "SelfSubjectAccessReview": {2: ("spec", "SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {
        1: ("resourceAttributes", "ResourceAttributes"),
        2: ("nonResourceAttributes", "NonResourceAttributes"),
    },
    "ResourceAttributes": {
        1: ("namespace", "s"),
        2: ("verb", "s"),
        3: ("group", "s"),
        4: ("version", "s"),
        5: ("resource", "s"),
        6: ("subresource", "s"),
        7: ("name", "s"),
    },
    "NonResourceAttributes": {1: ("path", "s"), 2: ("verb", "s")},
    "TokenRequest": {2: ("spec", "TokenRequestSpec")},
    "TokenRequestSpec": {1: ("audiences", "r"), 4: ("expirationSeconds", "i")},
}


def decode(body: bytes, message: str) -> Obj:
    """The JSON form of a protobuf ``message`` sent by kubectl; 400 when it is not one."""
    if not body.startswith(MAGIC):
        raise errors.bad_request("the body is not a Kubernetes protobuf message")
    try:
        unknown = _message(body[len(MAGIC) :], "Unknown")
        return _message(bytes(unknown.get("raw", b"")), message)
    except (IndexError, ValueError) as exc:
        raise errors.bad_request(f"the protobuf body cannot be read: {exc}") from None


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _message(data: bytes, name: str) -> Obj:
    fields = _MESSAGES[name]
    out: Obj = {}
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            if number in fields and fields[number][1] == "i":
                out[fields[number][0]] = value
            continue
        if wire != 2:
            raise ValueError(f"unexpected wire type {wire}")
        length, at = _varint(data, at)
        chunk, at = data[at : at + length], at + length
        if len(chunk) != length:
            raise ValueError("truncated field")
        if number in fields:
            _store(out, fields[number], chunk)
    return out


def _store(out: Obj, field: tuple[str, str], chunk: bytes) -> None:
    key, kind = field
    if kind == "s":
        out[key] = chunk.decode("utf-8")
    elif kind == "b":
        out[key] = chunk
    elif kind == "r":
        out.setdefault(key, []).append(chunk.decode("utf-8"))
    else:
        out[key] = _message(chunk, kind)
