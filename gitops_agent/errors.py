"""The project's exception tree. Every error a user can cause ends up as one of these.

Library exceptions (kubernetes ``ApiException``, ``GitCommandError``, HTTP errors) stop at
the edge module that called the library and are re-raised as one of these classes with
``raise ... from exc``, naming the resource or object involved::

    GitOpsError                 base; ``str(err)`` is a message fit for a person
    ├── ConfigError             bad agent configuration or command line; fatal, not retried
    ├── SourceError             clone / fetch / checkout / auth failed; retryable
    ├── TargetError             a target (Kubernetes, local) refused or failed an operation;
    │   │                       ``.object_ref`` names ``Kind/namespace/name``
    │   ├── NotFoundError       the object does not exist (404)
    │   ├── ConflictError       stale resourceVersion or field-manager conflict (409)
    │   ├── InvalidError        the target rejected the object (422)
    │   ├── ForbiddenError      the agent's credentials were refused (401) or its
    │   │                       permissions do not cover the request (403)
    │   └── UnavailableError    5xx, timeout, connection refused; retryable
    └── ReporterError           a git host API failed; logged, never fails a sync

Manifests that do not load or validate are not an exception: they are ``Violation`` values
in the result (``core.violations``), every one of them, and nothing is applied. Callers
catch ``GitOpsError`` at the command line and print ``str(err)``; there is no traceback for
an error a user can fix.
"""

from __future__ import annotations


class GitOpsError(Exception):
    """Base class of every error this project raises on purpose."""


class ConfigError(GitOpsError):
    """The agent configuration or the command line is wrong; the message says how to fix it."""


class SourceError(GitOpsError):
    """The manifest source (git repository or directory) could not be read. Retryable."""


class TargetError(GitOpsError):
    """A target refused or failed an operation on one object."""

    def __init__(self, message: str, *, object_ref: str = "", status: int = 0) -> None:
        self.object_ref = object_ref
        self.status = status
        super().__init__(f"{object_ref}: {message}" if object_ref else message)


class NotFoundError(TargetError):
    """The object does not exist on the target."""


class ConflictError(TargetError):
    """A stale write or a field owned by another manager."""


class InvalidError(TargetError):
    """The target rejected the object as invalid."""


class ForbiddenError(TargetError):
    """The API server refused who the agent is (401) or what it asked (403): a credential
    or RBAC problem for a person to fix, not retried."""


class UnavailableError(TargetError):
    """The target could not be reached or answered with a server error. Retryable, after
    ``retry_after`` seconds when the server asked for a wait."""

    retry_after: float = 0.0


class ReporterError(GitOpsError):
    """A git host API call failed. Logged; never fails a sync."""
