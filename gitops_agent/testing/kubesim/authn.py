"""Authentication: who sent a request, from its bearer token, as kube-apiserver decides it.

``TokenAuthority`` issues ServiceAccount tokens (what ``TokenRequest`` and
``kubectl create token`` get: a JWT with the ``kubernetes.io`` claims, signed by the
simulator's own key) and holds one static admin token (``--token-auth-file`` style) whose
user is in ``system:masters``. ``authenticate(header)`` maps an ``Authorization`` header to
an ``Identity``: no bearer token is ``system:anonymous``; a token that does not verify, has
expired or names a ServiceAccount that is gone (or was re-created with another uid) is a
401 ``Unauthorized`` Status, whatever is wrong with it (nothing of the token is echoed).
``impersonated`` applies ``Impersonate-User`` / ``Impersonate-Group`` once the requester is
allowed to ``impersonate`` them. Used by ``access.py`` when ``SimConfig.auth`` is on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitops_agent.testing.kubesim import errors
from gitops_agent.testing.kubesim.kinds import SERVICE_ACCOUNTS
from gitops_agent.testing.kubesim.store import Store

Obj = dict[str, Any]
SA_PREFIX = "system:serviceaccount:"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ISSUER = "https://kubernetes.default.svc.cluster.local"
MAX_TOKEN = 16 * 1024  # bytes of a bearer token worth looking at


@dataclass(frozen=True)
class Identity:
    """A user as the authorizer sees it: name and groups."""

    user: str
    groups: tuple[str, ...] = ()

    @property
    def service_account(self) -> tuple[str, str] | None:
        """(namespace, name) when this is a ServiceAccount's user."""
        return split_service_account(self.user)


ANONYMOUS = Identity("system:anonymous", (UNAUTHENTICATED,))
ADMIN = Identity("kubesim-admin", ("system:masters", AUTHENTICATED))


def split_service_account(user: str) -> tuple[str, str] | None:
    """``serviceaccount.SplitUsername``: (namespace, name) of ``system:serviceaccount:ns:n``."""
    if not user.startswith(SA_PREFIX):
        return None
    parts = user[len(SA_PREFIX) :].split(":")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def service_account_identity(namespace: str, name: str) -> Identity:
    """The user and groups a ServiceAccount's token authenticates as."""
    groups = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED)
    return Identity(f"{SA_PREFIX}{namespace}:{name}", groups)


def unauthorized() -> errors.ApiError:
    """401 as ``apierrors.NewUnauthorized("Unauthorized")``."""
    return errors.ApiError(401, "Unauthorized", "Unauthorized")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenAuthority:
    """Issues and verifies the bearer tokens of one simulated cluster."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        self._key = secrets.token_bytes(32)
        self.admin_token = secrets.token_urlsafe(32)

    def issue(
        self, namespace: str, name: str, uid: str, *, seconds: int, audiences: list[str]
    ) -> tuple[str, float]:
        """A signed token for ServiceAccount ``namespace/name`` and when it expires."""
        now = int(self.clock())
        expires = now + seconds
        claims = {
            "aud": audiences,
            "exp": expires,
            "iat": now,
            "iss": ISSUER,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
            "nbf": now,
            "sub": f"{SA_PREFIX}{namespace}:{name}",
        }
        head = _b64(json.dumps({"alg": "HS256", "kid": "kubesim", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{_b64(signature)}", float(expires)

    def authenticate(self, header: str) -> Identity:
        """The identity of an ``Authorization`` header value; 401 for a bad bearer token."""
        parts = header.strip().split(" ")
        if len(parts) < 2 or parts[0].lower() != "bearer" or not parts[1]:
            return ANONYMOUS
        token = parts[1]
        if len(parts) > 2 or len(token) > MAX_TOKEN:
            raise unauthorized()
        if hmac.compare_digest(token.encode(), self.admin_token.encode()):
            return ADMIN
        claims = self._verified(token)
        if claims is None:
            raise unauthorized()
        return self._service_account(claims)

    def _verified(self, token: str) -> Obj | None:
        """The claims of a token this authority signed and that has not expired."""
        pieces = token.split(".")
        if len(pieces) != 3:
            return None
        head, body, signature = pieces
        expected = hmac.new(self._key, f"{head}.{body}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(_unb64(signature), expected):
                return None
            claims = json.loads(_unb64(body))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return None
        if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
            return None
        return claims if claims["exp"] > self.clock() else None

    def _service_account(self, claims: Obj) -> Identity:
        """The ServiceAccount a token names, if it still exists with the same uid."""
        bound = claims.get("kubernetes.io")
        account = bound.get("serviceaccount") if isinstance(bound, dict) else None
        if not isinstance(account, dict) or not isinstance(bound, dict):
            raise unauthorized()
        namespace, name = str(bound.get("namespace", "")), str(account.get("name", ""))
        stored = self.store.get(SERVICE_ACCOUNTS, namespace, name)
        if stored is None or stored["metadata"].get("uid") != account.get("uid"):
            raise unauthorized()
        return service_account_identity(namespace, name)


@dataclass(frozen=True)
class Impersonation:
    """What ``Impersonate-User`` and ``Impersonate-Group`` headers ask for."""

    user: str
    groups: tuple[str, ...]

    def checks(self) -> list[tuple[str, str, str]]:
        """(resource, namespace, name) of each ``impersonate`` permission needed."""
        needed = []
        account = split_service_account(self.user)
        if account is not None:
            needed.append(("serviceaccounts", account[0], account[1]))
        else:
            needed.append(("users", "", self.user))
        needed.extend(("groups", "", group) for group in self.groups)
        return needed

    def identity(self) -> Identity:
        """The user the request acts as (``filters/impersonation.go``)."""
        account = split_service_account(self.user)
        groups = list(self.groups)
        if account is not None and not self.groups:
            groups = ["system:serviceaccounts", f"system:serviceaccounts:{account[0]}"]
        if not self.groups and self.user != ANONYMOUS.user and AUTHENTICATED not in groups:
            groups.append(AUTHENTICATED)
        return Identity(self.user, tuple(groups))


def impersonation(user: str, groups: tuple[str, ...]) -> Impersonation | None:
    """The impersonation a request asks for; 500 for groups without a user, as the filter."""
    if not user and not groups:
        return None
    if not user:
        raise errors.ApiError(500, "InternalError", "requested groups without impersonating a user")
    return Impersonation(user, groups)
