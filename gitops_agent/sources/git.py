"""The git source: where the desired state of a revision comes from.

Takes a ``GitSourceSpec`` (URL, ref, sub-path, auth, fetch mode) and a cache directory; gives
``remote_revision()`` (the SHA the ref points at, one ``git ls-remote``, no checkout) and
``checkout(revision=None)`` (fetch if needed, check the commit out in a working copy kept in
the cache directory across restarts, return a ``Checkout`` naming the directory manifests
are read from). ``read_file(revision, path)`` reads one file of any revision. The agent loop
and the CLI call it; every git failure leaves as ``SourceError`` with the URL (credentials
stripped) and the ref named, and no token in any message, argument or ``.git/config``. The
spec's URL and ref pass ``sources.urls`` first; every command runs through
``sources.gitrun``, with the URL and refspecs after ``--``.
"""

from __future__ import annotations

import enum
import hashlib
import os
import re
import shutil
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import git

from gitops_agent.core.config import SourceConfig
from gitops_agent.errors import ConfigError, SourceError
from gitops_agent.redaction import redact, strip_userinfo
from gitops_agent.sources import gitrun
from gitops_agent.sources.auth import GitAuth, GitEnvironment, git_environment
from gitops_agent.sources.urls import UrlKind, check_ref, classify

_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
#: The ref of a source that names none: the branch the remote's HEAD points at.
REMOTE_HEAD = SourceConfig().ref
REF_HINT = (
    "set source.ref in gitops-agent.yaml, or --ref, to a branch, tag or commit of that repository"
)
_LOCAL_REF = "refs/gitops-agent/fetched"
_MODE_KEY = "gitops-agent.fetchMode"


class FetchMode(enum.Enum):
    """How much history and content a fetch brings."""

    FULL = "full"
    SHALLOW = "shallow"  # --depth 1: one commit, all its blobs
    BLOBLESS = "blobless"  # --filter=blob:none: commits and trees; blobs on checkout


@dataclass(frozen=True, slots=True)
class GitSourceSpec:
    """Where manifests live: repository URL, ref (branch, tag, full ref or SHA), sub-path."""

    url: str
    ref: str = REMOTE_HEAD
    path: str = ""
    token_env: str = ""
    ssh_key_file: str = ""
    fetch_mode: FetchMode = FetchMode.SHALLOW
    token_username: str = "x-access-token"
    ssh_known_hosts_file: str = ""
    timeout: float = 300.0

    def __post_init__(self) -> None:
        classify(self.url)
        check_ref(self.ref)
        relative_path(self.path, what="source.path")

    @property
    def auth(self) -> GitAuth:
        """The credentials part of the spec."""
        return GitAuth(
            token_env=self.token_env,
            token_username=self.token_username,
            ssh_key_file=self.ssh_key_file,
            ssh_known_hosts_file=self.ssh_known_hosts_file,
        )

    @property
    def safe_url(self) -> str:
        """The URL with any userinfo removed, fit for messages."""
        return strip_userinfo(self.url)


@dataclass(frozen=True, slots=True)
class Checkout:
    """A revision checked out on disk; read manifests from ``directory``."""

    root: Path
    directory: Path
    revision: str
    ref: str


def relative_path(path: str, *, what: str) -> PurePosixPath:
    """Normalise a repository-relative path; refuse absolute paths and ``..`` escapes."""
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts:
        raise ConfigError(f"{what} {path!r} must be a path inside the repository")
    return pure


def is_sha(ref: str) -> bool:
    """True when ``ref`` is a full commit SHA (SHA-1 or SHA-256)."""
    return bool(_SHA.match(ref))


def ls_remote_patterns(ref: str) -> list[str]:
    """The patterns one ``git ls-remote`` needs to resolve ``ref`` (tags peeled)."""
    if ref == REMOTE_HEAD:
        return [REMOTE_HEAD]
    if ref.startswith("refs/"):
        return [ref, ref + "^{}"]
    return [f"refs/heads/{ref}", f"refs/tags/{ref}", f"refs/tags/{ref}^{{}}"]


def pick_revision(ls_remote_output: str, ref: str) -> str | None:
    """The commit ``ref`` resolves to in ``git ls-remote`` output: branch, then peeled tag."""
    found: dict[str, str] = {}
    for line in ls_remote_output.splitlines():
        sha, _, name = line.partition("\t")
        if sha and name:
            found[name.strip()] = sha.strip()
    named = ref.startswith("refs/") or ref == REMOTE_HEAD
    full = [ref] if named else [f"refs/heads/{ref}", f"refs/tags/{ref}"]
    for name in full:
        if name + "^{}" in found:
            return found[name + "^{}"]
        if name in found:
            return found[name]
    return None


def workdir_name(spec: GitSourceSpec) -> str:
    """A stable directory name for the working copy of ``spec``'s URL and ref."""
    digest = hashlib.sha256(f"{spec.safe_url}\0{spec.ref}".encode()).hexdigest()[:12]
    tail = re.sub(r"[^A-Za-z0-9._-]+", "-", spec.safe_url.rstrip("/").rsplit("/", 1)[-1])
    return f"{tail.removesuffix('.git')[:40] or 'repo'}-{digest}"


@dataclass(slots=True)
class GitSource:
    """A git repository as a source of manifests, with a working copy under ``cache_dir``.

    Checkouts of one instance are serialised; the working copy belongs to this instance
    (its directory name hashes the URL and the ref, so a preview of another ref gets its own).
    ``environ`` is where the token env var is read (default: the process environment);
    ``extra_env`` is added to every git command (for proxies, or tracing in tests).
    """

    spec: GitSourceSpec
    cache_dir: Path
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    extra_env: Mapping[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def workdir(self) -> Path:
        """The working copy's directory (kept across restarts)."""
        return self.cache_dir / workdir_name(self.spec)

    @property
    def _remote_url(self) -> str:
        return remote_url(self.spec.url)

    def remote_revision(self) -> str:
        """The SHA the spec's ref points at on the remote: one ``ls-remote``, no checkout."""
        if is_sha(self.spec.ref):
            return self.spec.ref
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        args = ["ls-remote", "--", self._remote_url, *ls_remote_patterns(self.spec.ref)]
        output = self._run(args, cwd=self.cache_dir, remote=True, verb="ls-remote")
        revision = pick_revision(output, self.spec.ref)
        if revision is None:
            where = self.spec.safe_url
            if self.spec.ref == REMOTE_HEAD:
                raise SourceError(f"{where} has no default branch (HEAD); {REF_HINT}")
            raise SourceError(f"ref {self.spec.ref!r} not found in {where}; {REF_HINT}")
        return revision

    def branch(self) -> str:
        """The branch name the spec's ref stands for: the ref itself, or for the remote's
        default (``HEAD``) the branch it names (one ``ls-remote --symref``)."""
        ref = self.spec.ref
        if ref != REMOTE_HEAD:
            return ref.removeprefix("refs/heads/")
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        args = ["ls-remote", "--symref", "--", self._remote_url, REMOTE_HEAD]
        output = self._run(args, cwd=self.cache_dir, remote=True, verb="ls-remote")
        for line in output.splitlines():
            target, _, name = line.removeprefix("ref:").strip().partition("\t")
            if line.startswith("ref:") and name.strip() == REMOTE_HEAD:
                return target.strip().removeprefix("refs/heads/")
        raise SourceError(f"{self.spec.safe_url} has no default branch (HEAD); {REF_HINT}")

    def checkout(self, revision: str | None = None) -> Checkout:
        """Check out ``revision`` (default: where the ref points now) and return it.

        A working copy already at ``revision`` is reused as it is: no fetch, no checkout.
        """
        if revision is not None and not is_sha(revision):
            raise SourceError(f"revision {revision!r} is not a full commit SHA")
        with self._lock:
            return self._checkout(revision)

    def _checkout(self, revision: str | None) -> Checkout:
        root = self._open_workdir()
        if revision is None:
            revision = self._fetch(self.spec.ref)
        elif self._head(root) == revision:
            return self._result(root, revision)
        elif not self._has_commit(revision):
            self._fetch_revision(revision)
        # remote: a blobless working copy fetches the blobs it checks out
        self._run(
            ["checkout", "--quiet", "--force", "--detach", revision, "--"],
            verb="checkout",
            remote=True,
        )
        self._run(["clean", "-ffdxq"], verb="clean")
        return self._result(root, revision)

    def commits_between(self, older: str, newer: str, *, limit: int = 20) -> list[str]:
        """Commits after ``older`` up to ``newer`` (newest first, ``newer`` included), from the
        working copy; empty when the history is not there (a shallow fetch) or unrelated."""
        if not (is_sha(older) and is_sha(newer)):
            return []
        with self._lock:
            try:
                out = self._run(
                    ["rev-list", f"--max-count={limit}", f"{older}..{newer}", "--"], verb="rev-list"
                )
            except SourceError:
                return []
        return [line for line in out.splitlines() if is_sha(line.strip())]

    def listing(self, revision: str) -> dict[str, tuple[str, str]]:
        """Every file of ``revision`` by repository path: its mode and blob id (one
        ``git ls-tree``, from the working copy's objects; no blob is read)."""
        if not is_sha(revision):
            raise SourceError(f"revision {revision!r} is not a full commit SHA")
        with self._lock:
            out = self._run_bytes(
                ["ls-tree", "-r", "-z", "--full-tree", revision, "--"], verb="list the files of"
            )
        return parse_listing(out)

    def newest(self, revisions: Collection[str]) -> str | None:
        """The newest of ``revisions`` by the repository's history: the first of them in
        topological order (none of the others descends from it). Commits the working copy
        lacks are fetched; those the remote does not have are left out (None: none is there)."""
        known = sorted({r for r in revisions if is_sha(r)})
        if len(known) <= 1:
            return known[0] if known else None
        with self._lock:
            self._open_workdir()
            try:
                return self._first_in_history(known)
            except SourceError:
                present = [r for r in known if self._present_or_fetched(r)]
            return self._first_in_history(present) if present else None

    def _first_in_history(self, revisions: Sequence[str]) -> str:
        args = ["rev-list", "--topo-order", "--max-count=1", *revisions, "--"]
        return self._run(args, verb="rev-list", remote=True).strip()

    def _present_or_fetched(self, revision: str) -> bool:
        if self._has_commit(revision):
            return True
        try:
            self._fetch_revision(revision)
        except SourceError:
            return False
        return True

    def read_file(self, revision: str, path: str) -> bytes:
        """The content of ``path`` (repository-relative) at ``revision``."""
        rel = relative_path(path, what="file path")
        if not is_sha(revision):
            raise SourceError(f"revision {revision!r} is not a full commit SHA")
        with self._lock:
            self._open_workdir()
            if not self._has_commit(revision):
                self._fetch_revision(revision)
            return self._run_bytes(
                ["cat-file", "blob", f"{revision}:{rel.as_posix()}"],
                verb=f"read {rel.as_posix()} at {revision[:12]} from",
                remote=True,
            )

    def _result(self, root: Path, revision: str) -> Checkout:
        directory = (root / self.spec.path).resolve()
        if not directory.is_relative_to(root.resolve()):
            raise SourceError(f"source.path {self.spec.path!r} leaves the repository")
        if not directory.is_dir():
            raise SourceError(
                f"source.path {self.spec.path!r} is not a directory at revision {revision[:12]} "
                f"of {self.spec.safe_url}"
            )
        return Checkout(root=root, directory=directory, revision=revision, ref=self.spec.ref)

    def _fetch_revision(self, revision: str) -> None:
        fetched = self._fetch(revision)
        if fetched != revision:
            raise SourceError(f"fetched {fetched[:12]} instead of revision {revision[:12]}")

    def _fetch(self, what: str) -> str:
        """Fetch ``what`` (ref or SHA) into a local ref; return the commit it names."""
        args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head"]
        if self.spec.fetch_mode is FetchMode.SHALLOW:
            args.append("--depth=1")
        elif self.spec.fetch_mode is FetchMode.BLOBLESS:
            args.append("--filter=blob:none")
        args += ["--", "origin", f"+{what}:{_LOCAL_REF}"]
        self._run(args, remote=True, verb="fetch")
        return self._run(["rev-parse", "--verify", f"{_LOCAL_REF}^{{commit}}"], verb="rev-parse")

    def _head(self, root: Path) -> str | None:
        """The detached HEAD of the working copy, read from the file: no process."""
        try:
            head = (root / ".git" / "HEAD").read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return head if is_sha(head) else None

    def _has_commit(self, revision: str) -> bool:
        try:
            self._run(["cat-file", "-e", f"{revision}^{{commit}}"], verb="inspect", remote=True)
        except SourceError:
            return False
        return True

    def _open_workdir(self) -> Path:
        """The working copy, created (or re-created when its remote or mode changed)."""
        root = self.workdir
        if self._reusable(root):
            return root
        if root.exists():
            shutil.rmtree(root)
        root.mkdir(parents=True)
        self._run(["init", "--quiet", "--template="], verb="init")
        self._run(["remote", "add", "--", "origin", self._remote_url], verb="configure")
        self._run(["config", _MODE_KEY, self.spec.fetch_mode.value], verb="configure")
        if self.spec.fetch_mode is FetchMode.BLOBLESS:
            for key, value in (
                ("remote.origin.promisor", "true"),
                ("remote.origin.partialclonefilter", "blob:none"),
            ):
                self._run(["config", key, value], verb="configure")
        return root

    def _reusable(self, root: Path) -> bool:
        config = root / ".git" / "config"
        if not config.is_file():
            return False
        try:
            reader = git.GitConfigParser(str(config), read_only=True)
            url = reader.get_value('remote "origin"', "url", default="")
            mode = reader.get_value("gitops-agent", "fetchmode", default="")
        except (OSError, ValueError, git.GitError):
            return False
        return url == self._remote_url and mode == self.spec.fetch_mode.value

    def _environment(self, remote: bool) -> GitEnvironment:
        if not remote:
            return GitEnvironment(env=dict(self.extra_env))
        return git_environment(self.spec.url, self.spec.auth, self.environ, base=self.extra_env)

    def _auth_hint(self, exc: git.GitCommandError) -> str:
        text = str(exc.stderr)
        if "terminal prompts disabled" not in text and "Authentication failed" not in text:
            return ""
        if self.spec.token_env:
            env_name = self.spec.token_env
            return f" (the server refused the credentials; check the token in ${env_name})"
        return " (the server asks for credentials; set source.tokenEnv)"

    def _run(
        self, args: Sequence[str], *, verb: str, cwd: Path | None = None, remote: bool = False
    ) -> str:
        """Run one git command and return its stripped standard output."""
        out = self._execute(args, verb=verb, cwd=cwd, remote=remote, binary=False)
        return out.decode("utf-8", "replace") if isinstance(out, bytes) else out.strip()

    def _run_bytes(self, args: Sequence[str], *, verb: str, remote: bool = False) -> bytes:
        """Run one git command and return its raw standard output."""
        out = self._execute(args, verb=verb, cwd=None, remote=remote, binary=True)
        return out if isinstance(out, bytes) else out.encode()

    def _execute(
        self, args: Sequence[str], *, verb: str, cwd: Path | None, remote: bool, binary: bool
    ) -> str | bytes:
        """Run one git command; map every failure to ``SourceError`` with secrets masked."""
        env = self._environment(remote)
        try:
            out = gitrun.run(
                args, cwd=cwd or self.workdir, env=env.env, timeout=self.spec.timeout, binary=binary
            )
        except git.GitCommandError as exc:
            detail = git_error_summary(exc) + self._auth_hint(exc) + _ref_hint(exc)
            message = f"git {verb} {self.spec.safe_url} (ref {self.spec.ref}) failed: {detail}"
            raise SourceError(redact(message, env.secrets)) from None
        except OSError as exc:
            message = f"cannot run git for {self.spec.safe_url}: {exc}"
            raise SourceError(redact(message, env.secrets)) from None
        return out


def parse_listing(output: bytes) -> dict[str, tuple[str, str]]:
    """``git ls-tree -r -z`` output as mode and blob id by path (a path decoded as the
    file system's names are, so that it names the checked-out file)."""
    listing: dict[str, tuple[str, str]] = {}
    for record in output.split(b"\0"):
        head, tab, name = record.partition(b"\t")
        parts = head.split()
        if tab and len(parts) == 3:
            path = os.fsdecode(name)
            listing[path] = (
                parts[0].decode("ascii", "replace"),
                parts[2].decode("ascii", "replace"),
            )
    return listing


def _ref_hint(exc: git.GitCommandError) -> str:
    text = str(exc.stderr)
    return f" ({REF_HINT})" if "couldn't find remote ref" in text else ""


def remote_url(url: str) -> str:
    """What git is handed for ``url``: a local path made absolute, anything else unchanged."""
    if classify(url) is UrlKind.LOCAL:
        return str(Path(url).expanduser().resolve())
    return url


def git_error_summary(exc: git.GitCommandError) -> str:
    """The useful part of a git error: its last non-empty stderr lines."""
    text = exc.stderr if isinstance(exc.stderr, str) else str(exc.stderr or "")
    text = text.strip().removeprefix("stderr:").strip().strip("'").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    summary = "; ".join(lines[-3:]) if lines else f"exit status {exc.status}"
    return summary[:500]
