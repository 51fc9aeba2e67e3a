"""Who may do what: authentication, impersonation and RBAC in front of every API request.

Off unless ``SimConfig.auth`` is on, so that tests using the admin kubeconfig of earlier
releases keep working (with it off every request is the admin's). With it on,
``Access.identify(request)`` and ``Access.authorize(identity, request)`` run
kube-apiserver's filter chain for one request:
authentication (``authn.py``; 401 for a bad token), impersonation (each impersonated user
and group checked as ``impersonate``), then authorization of the request's attributes
(``rbac.py``; the 403 ``Forbidden`` Status naming user, verb, resource, group and
namespace). ``create_check`` is the second check a server-side apply of a missing object
gets: ``create`` on the same object (``handlers/patch.go`` ``withAuthorization``).
``review`` answers a SelfSubjectAccessReview with the same authorizer. Owned by ``KubeSim``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gitops_agent.testing.kubesim import errors
from gitops_agent.testing.kubesim.authn import (
    ADMIN,
    ISSUER,
    Identity,
    TokenAuthority,
    impersonation,
)
from gitops_agent.testing.kubesim.kinds import (
    CLUSTER_ROLE_BINDINGS,
    CLUSTER_ROLES,
    SERVICE_ACCOUNTS,
)
from gitops_agent.testing.kubesim.objects import WriteOptions, timestamp
from gitops_agent.testing.kubesim.rbac import (
    BOOTSTRAP_BINDINGS,
    BOOTSTRAP_ROLES,
    Attributes,
    Authorizer,
    Decision,
    forbidden,
    request_attributes,
)
from gitops_agent.testing.kubesim.wire import Request, Target

if TYPE_CHECKING:
    from gitops_agent.testing.kubesim.simulator import KubeSim

Obj = dict[str, Any]


class Access:
    """The authentication and authorization of one simulator."""

    def __init__(self, sim: KubeSim, *, enabled: bool) -> None:
        self.sim = sim
        self.enabled = enabled
        self.tokens = TokenAuthority(sim.store, sim.clock)
        self.authorizer = Authorizer(sim.store)

    def bootstrap(self) -> None:
        """Store the default ClusterRoles and bindings (with auth on), as a new cluster has."""
        if not self.enabled:
            return
        opts = WriteOptions(field_manager="kube-apiserver")
        for role in BOOTSTRAP_ROLES:
            self.sim.objects.create(CLUSTER_ROLES, "", dict(role), opts)
        for binding in BOOTSTRAP_BINDINGS:
            self.sim.objects.create(CLUSTER_ROLE_BINDINGS, "", dict(binding), opts)

    def identify(self, request: Request) -> Identity:
        """Who a request acts as (its token, then impersonation); raises ApiError (401, or
        403 for an impersonation not allowed)."""
        if not self.enabled:
            return ADMIN
        identity = self.tokens.authenticate(request.header("Authorization"))
        return self._impersonate(identity, request)

    def authorize(self, identity: Identity, request: Request) -> None:
        """Raise the 403 of a request ``identity`` may not make."""
        if not self.enabled:
            return
        attrs = request_attributes(identity, request.method, request.path, request.query)
        decision = self.authorizer.authorize(attrs)
        if not decision.allowed:
            raise forbidden(attrs, decision.reason)

    def _impersonate(self, identity: Identity, request: Request) -> Identity:
        wanted = impersonation(
            request.header("Impersonate-User"), request.all_values("Impersonate-Group")
        )
        if wanted is None:
            return identity
        for resource, namespace, name in wanted.checks():
            attrs = Attributes(identity, "impersonate", True, "", "", resource, "", namespace, name)
            decision = self.authorizer.authorize(attrs)
            if not decision.allowed:
                raise forbidden(attrs, decision.reason)
        return wanted.identity()

    def create_check(self, request: Request, target: Target) -> Callable[[], None] | None:
        """What an apply to a missing object must also pass: ``create`` on that object."""
        if not self.enabled or request.identity is None:
            return None
        attrs = dataclasses.replace(
            request_attributes(request.identity, request.method, request.path, request.query),
            verb="create",
        )

        def check() -> None:
            decision = self.authorizer.authorize(attrs)
            if not decision.allowed:
                raise forbidden(attrs, decision.reason, message=decision.reason)

        return check

    def review(self, identity: Identity, body: Any) -> Obj:
        """A SelfSubjectAccessReview answered for ``identity`` (``selfsubjectaccessreview``'s
        REST ``Create``): the spec echoed, ``status.allowed`` and the reason."""
        spec = body.get("spec") if isinstance(body, dict) else None
        if not isinstance(spec, dict):
            spec = {}
        resource, plain = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
        if (resource is None) == (plain is None):
            raise _invalid_review(spec)
        attrs = _review_attributes(identity, resource, plain)
        decision = self.authorizer.authorize(attrs) if self.enabled else _ADMIN_ALLOWED
        status: Obj = {"allowed": decision.allowed}
        if decision.reason:
            status["reason"] = decision.reason
        return {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }

    def token_request(self, namespace: str, name: str, body: Any) -> Obj:
        """``POST .../serviceaccounts/{name}/token``: a TokenRequest answered with a token
        (``expirationSeconds`` defaults to 3600 and may not be under 600)."""
        account = self.sim.objects.get(SERVICE_ACCOUNTS, namespace, name)
        spec = body.get("spec") if isinstance(body, dict) else None
        spec = dict(spec) if isinstance(spec, dict) else {}
        seconds = spec.get("expirationSeconds") or DEFAULT_TOKEN_SECONDS
        if not isinstance(seconds, int) or seconds < MIN_TOKEN_SECONDS:
            raise _short_token(name, seconds)
        audiences = list(spec.get("audiences") or [ISSUER])
        token, expires = self.tokens.issue(
            namespace, name, str(account["metadata"]["uid"]), seconds=seconds, audiences=audiences
        )
        spec.update(audiences=audiences, expirationSeconds=seconds)
        spec.setdefault("boundObjectRef", None)
        return {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
            "spec": spec,
            "status": {"token": token, "expirationTimestamp": timestamp(expires)},
        }


DEFAULT_TOKEN_SECONDS = 3600
MIN_TOKEN_SECONDS = 600
_ADMIN_ALLOWED = Decision(True)


def _short_token(name: str, seconds: Any) -> errors.ApiError:
    """422 of ``ValidateTokenRequest`` for an expiration under ten minutes."""
    message = "may not specify a duration less than 10 minutes"
    cause = errors.Cause(
        "FieldValueInvalid", f"Invalid value: {seconds}: {message}", "spec.expirationSeconds"
    )
    return errors.ApiError(
        422,
        "Invalid",
        f'TokenRequest.authentication.k8s.io "{name}" is invalid: spec.expirationSeconds: '
        f"{cause.message}",
        {"name": name, "group": "authentication.k8s.io", "kind": "TokenRequest"},
        [cause],
    )


def _review_attributes(identity: Identity, resource: Any, plain: Any) -> Attributes:
    """``authorizationutil.ResourceAttributesFrom`` / ``NonResourceAttributesFrom``."""
    if isinstance(resource, dict):
        return Attributes(
            identity,
            str(resource.get("verb", "")),
            True,
            str(resource.get("group", "")),
            str(resource.get("version", "")),
            str(resource.get("resource", "")),
            str(resource.get("subresource", "")),
            str(resource.get("namespace", "")),
            str(resource.get("name", "")),
        )
    plain = plain if isinstance(plain, dict) else {}
    return Attributes(identity, str(plain.get("verb", "")), False, path=str(plain.get("path", "")))


def _invalid_review(spec: Obj) -> errors.ApiError:
    """422 of ``ValidateSelfSubjectAccessReviewSpec``: exactly one kind of attributes."""
    if "resourceAttributes" in spec:
        field, message = (
            "spec.nonResourceAttributes",
            "cannot be specified in combination with resourceAttributes",
        )
    else:
        field, message = (
            "spec.resourceAttributes",
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )
    cause = errors.Cause("FieldValueInvalid", f'Invalid value: "null": {message}', field)
    return errors.ApiError(
        422,
        "Invalid",
        f'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: {field}: {cause.message}',
        {"group": "authorization.k8s.io", "kind": "SelfSubjectAccessReview"},
        [cause],
    )
