"""Request bodies in the Kubernetes protobuf encoding (``application/vnd.kubernetes.protobuf``).

kubectl's typed clients (``kubectl create namespace|configmap|secret|deployment|job``...) send
protobuf. ``to_json(body)`` reads the envelope (``k8s\\x00`` and a ``runtime.Unknown`` with the
apiVersion, kind and the object's bytes) and decodes the object with the field table of
``protofields.py`` into the JSON the same Go struct marshals to: ``omitempty`` fields with a
zero value left out, structs always present (a zero ``Time`` as ``null``), maps and repeated
fields, inlined structs merged, quantities, int-or-strings, times and raw extensions in their
JSON forms. Called by ``handlers.py`` before a body is decoded.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import struct
from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim import errors
from gitops_agent.testing.kubesim.protofields import MESSAGES

Obj = dict[str, Any]
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"
Wire = dict[int, list[tuple[int, Any]]]
_PACKAGES = {
    "v1": "core",
    "apps/v1": "apps",
    "batch/v1": "batch",
    "coordination.k8s.io/v1": "coordination",
    "events.k8s.io/v1": "events",
    "autoscaling/v1": "autoscaling",
}


@dataclass(frozen=True)
class Spec:
    """One field of the table: number, JSON name, type and flags."""

    number: int
    name: str
    kind: str
    repeated: bool
    pointer: bool
    omitempty: bool
    inline: bool


@functools.cache
def fields(message: str) -> tuple[Spec, ...]:
    out = []
    for item in MESSAGES[message].split(";"):
        if not item:
            continue
        number, name, kind, flags = item.split(" ")
        out.append(
            Spec(int(number), name, kind, "r" in flags, "p" in flags, "o" in flags, "n" in flags)
        )
    return tuple(out)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ValueError("truncated varint")
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        shift += 7
        if not byte & 0x80:
            return value, pos


def parse(data: bytes) -> Wire:
    """The fields of one message: number -> [(wire type, value)]."""
    out: Wire = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        value: Any
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = int.from_bytes(data[pos : pos + 8], "little"), pos + 8
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos : pos + size], pos + size
        elif wire == 5:
            value, pos = int.from_bytes(data[pos : pos + 4], "little"), pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > len(data):
            raise ValueError("truncated field")
        out.setdefault(number, []).append((wire, value))
    return out


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _time(wire: Wire, *, micro: bool) -> str | None:
    seconds = _signed(_last(wire, 1, 0))
    nanos = _signed(_last(wire, 2, 0))
    if not seconds and not nanos:
        return None
    moment = dt.datetime.fromtimestamp(seconds, dt.UTC)
    if micro:
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _duration(nanos: int) -> str:
    """Go's ``time.Duration.String`` for whole hours, minutes, seconds and fractions."""
    if nanos == 0:
        return "0s"
    sign, nanos = ("-", -nanos) if nanos < 0 else ("", nanos)
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = f"{rest / 10**9:.9f}".rstrip("0").rstrip(".")
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "")
    return sign + text + f"{seconds}s"


def _last(wire: Wire, number: int, default: Any) -> Any:
    values = wire.get(number)
    return values[-1][1] if values else default


def _special(message: str, data: bytes) -> Any:
    wire = parse(data)
    if message in ("meta.Time", "meta.MicroTime"):
        return _time(wire, micro=message == "meta.MicroTime")
    if message == "meta.Duration":
        return _duration(_signed(_last(wire, 1, 0)))
    if message == "resource.Quantity":
        return bytes(_last(wire, 1, b"")).decode()
    if message == "intstr.IntOrString":
        if _last(wire, 1, 0) == 1:
            return bytes(_last(wire, 3, b"")).decode()
        return _signed(_last(wire, 2, 0))
    raw = bytes(_last(wire, 1, b""))  # runtime.RawExtension, meta.FieldsV1
    return json.loads(raw) if raw else None


def _scalar(kind: str, value: Any) -> Any:
    if kind == "s":
        return bytes(value).decode()
    if kind == "b":
        return base64.b64encode(bytes(value)).decode()
    if kind == "f":
        return bool(value)
    if kind == "d":
        return struct.unpack("<d", int(value).to_bytes(8, "little"))[0]
    return _signed(value) if kind == "i" else value


def _value(kind: str, value: Any) -> Any:
    if kind in MESSAGES:
        return message_json(kind, bytes(value))
    if "." in kind:
        return _special(kind, bytes(value))
    return _scalar(kind, value)


def _repeated(spec: Spec, values: list[tuple[int, Any]]) -> list[Any]:
    out: list[Any] = []
    for wire_type, value in values:
        if wire_type == 2 and spec.kind in ("i", "f"):  # packed
            data, pos = bytes(value), 0
            while pos < len(data):
                item, pos = _varint(data, pos)
                out.append(_scalar(spec.kind, item))
        else:
            out.append(_value(spec.kind, value))
    return out


def _map(spec: Spec, values: list[tuple[int, Any]]) -> Obj:
    out: Obj = {}
    for _, entry in values:
        wire = parse(bytes(entry))
        key = bytes(_last(wire, 1, b"")).decode()
        found = wire.get(2)
        kind = spec.kind[1:]
        out[key] = _value(kind, found[-1][1]) if found else _zero(kind)
    return out


def _zero(kind: str) -> Any:
    if kind in MESSAGES:
        return message_json(kind, b"")
    if "." in kind:
        return _special(kind, b"")
    return {"s": "", "b": "", "f": False, "i": 0, "d": 0.0}[kind]


def _empty(value: Any) -> bool:
    """Go's ``omitempty`` test for what a field holds (structs are never empty)."""
    return value in ("", 0, False, None, [], {})


def message_json(message: str, data: bytes) -> Obj:
    """The JSON of one message as Go's ``encoding/json`` writes the struct."""
    wire = parse(data)
    out: Obj = {}
    for spec in fields(message):
        values = wire.get(spec.number)
        if spec.inline:
            out.update(message_json(spec.kind, bytes(values[-1][1]) if values else b""))
            continue
        if spec.repeated:
            collected: Any = _map(spec, values or []) if spec.kind.startswith("M") else None
            if collected is None:
                collected = _repeated(spec, values or [])
            if collected or not spec.omitempty:
                out[spec.name] = collected if values else None
            continue
        struct_like = spec.kind in MESSAGES or "." in spec.kind  # never empty for omitempty
        if values is None:
            if spec.pointer:
                if not spec.omitempty:
                    out[spec.name] = None
                continue
            value = _zero(spec.kind)
        else:
            value = _value(spec.kind, values[-1][1])
        if spec.omitempty and not spec.pointer and not struct_like and _empty(value):
            continue
        out[spec.name] = value
    return out


def to_json(body: bytes) -> bytes:
    """A protobuf request body as the JSON of the same object; 400 when it is not one."""
    if not body.startswith(MAGIC):
        raise errors.bad_request(
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        )
    try:
        envelope = parse(body[len(MAGIC) :])
        type_meta = parse(bytes(_last(envelope, 1, b"")))
        api_version = bytes(_last(type_meta, 1, b"")).decode()
        kind = bytes(_last(type_meta, 2, b"")).decode()
        message = "meta.DeleteOptions" if kind == "DeleteOptions" else ""
        message = message or f"{_PACKAGES.get(api_version, '?')}.{kind}"
        if message not in MESSAGES:
            raise errors.bad_request(
                f'no kind "{kind}" is registered for version "{api_version}" in scheme '
                '"pkg/api/legacyscheme/scheme.go:30"'
            )
        obj = message_json(message, bytes(_last(envelope, 2, b"")))
    except (ValueError, UnicodeDecodeError, KeyError, IndexError) as exc:
        raise errors.bad_request(f"unable to decode the protobuf body: {exc}") from exc
    return json.dumps({"apiVersion": api_version, "kind": kind, **obj}).encode()
