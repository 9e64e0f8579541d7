"""A fake GitHub on 127.0.0.1 for the bot's tests.

It answers the REST endpoints the bot's client calls (repository, issues, issue comments, pull
requests, git refs, a collaborator's permission) under an Enterprise-style prefix (`/api/v3`), and git's smart HTTP protocol
under `/git/OWNER/NAME.git`, served by `git http-backend` over real bare repositories, so a push
goes through the same server and lands in a real repository. Writes need the token (git pushes
as basic auth `x-access-token:TOKEN`, API calls as `Bearer TOKEN`); reads are anonymous, as on a
public repository. Every request is recorded in order, headers and body included, and faults can
be scripted (`fail`). `transcript()` lists the requests as `METHOD path -> status` lines.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

API_PREFIX = "/api/v3"
BOT_USER = {"login": "github-actions[bot]", "type": "Bot"}


@dataclass
class Recorded:
    """One request the server received, and the status it answered."""

    method: str
    path: str
    query: str
    header_list: list[tuple[str, str]]
    body: bytes
    status: int = 0

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.header_list)

    def header(self, name: str) -> str:
        """A header's value (names compare case-insensitively), or ""."""
        return next(iter(self.header_all(name)), "")

    def header_all(self, name: str) -> list[str]:
        return [v for k, v in self.header_list if k.lower() == name.lower()]

    def line(self) -> str:
        target = self.path + (f"?{self.query}" if self.query else "")
        return f"{self.method} {target} -> {self.status}"


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern
    status: int
    times: int
    headers: dict[str, str]
    data: object


@dataclass
class _Repo:
    full_name: str
    bare: Path
    default_branch: str
    issues: dict[int, dict] = field(default_factory=dict)
    comments: dict[int, list[dict]] = field(default_factory=dict)
    pulls: dict[int, dict] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)


class FakeGitHub:
    """The server; use as a context manager (or start()/stop())."""

    def __init__(self, root: Path, token: str):
        self.root = Path(root)
        (self.root / "git").mkdir(parents=True, exist_ok=True)
        self.token = token
        self.requests: list[Recorded] = []
        self.repos: dict[str, _Repo] = {}
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._next_id = 1000
        handler = type("Handler", (_Handler,), {"fake": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> FakeGitHub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.base + API_PREFIX

    def git_url(self, full_name: str) -> str:
        return f"{self.base}/git/{full_name}.git"

    # -- state ---------------------------------------------------------------------------------
    def add_repo(self, full_name: str, source: Path, default_branch: str = "main") -> Path:
        """A bare copy of `source` served as `full_name`; returns the bare repository's path."""
        bare = self.root / "git" / f"{full_name}.git"
        bare.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", "--bare", str(source), str(bare)], check=True, capture_output=True)
        self.repos[full_name] = _Repo(full_name, bare, default_branch)
        return bare

    def add_issue(self, full_name: str, number: int, title: str, body: str, *, user: str = "alice",
                  association: str = "NONE", state: str = "open") -> dict:
        issue = {"number": number, "title": title, "body": body, "state": state,
                 "user": {"login": user, "type": "User"}, "author_association": association,
                 "labels": [], "html_url": f"{self.base}/{full_name}/issues/{number}"}
        self.repos[full_name].issues[number] = issue
        return issue

    def set_permission(self, full_name: str, user: str, role: str) -> None:
        """`user`'s role on the repository: admin, maintain, write, triage or read. A user without one
        has `read` (a public repository), and `ghost` is a user GitHub does not know (404)."""
        self.repos[full_name].permissions[user] = role

    def fail(self, method: str, path_regex: str, status: int, *, times: int = 1,
             headers: dict[str, str] | None = None, message: str = "fault injected by the test",
             data: object = None) -> None:
        """Answer the next `times` matching requests with `status`, `headers` and a JSON body (`data`, by
        default {"message": message}) instead of serving them."""
        body = {"message": message} if data is None else data
        self._faults.append(_Fault(method, re.compile(path_regex), status, times, headers or {}, body))

    def branch_sha(self, full_name: str, branch: str) -> str | None:
        res = subprocess.run(["git", "--git-dir", str(self.repos[full_name].bare), "rev-parse", "-q", "--verify",
                              f"refs/heads/{branch}"], capture_output=True, text=True)
        return res.stdout.strip() or None

    def transcript(self) -> list[str]:
        with self._lock:
            return [r.line() for r in self.requests]

    def writes(self) -> list[Recorded]:
        """Requests that change something: API writes and git pushes."""
        with self._lock:
            return [r for r in self.requests
                    if r.method in ("POST", "PATCH", "PUT", "DELETE") and "git-upload-pack" not in r.path]

    def _new_id(self) -> int:
        with self._lock:
            self._next_id += 1
            return self._next_id

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for f in self._faults:
                if f.method == method and f.pattern.search(path) and f.times > 0:
                    f.times -= 1
                    return f
        return None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGitHub
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_PATCH(self):
        self._handle()

    def do_PUT(self):
        self._handle()

    def do_DELETE(self):
        self._handle()

    # -- plumbing ------------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        url = urlsplit(self.path)
        rec = Recorded(self.command, unquote(url.path), url.query, list(self.headers.items()), self._read_body())
        with self.fake._lock:
            self.fake.requests.append(rec)
        self.rec = rec
        fault = self.fake._take_fault(self.command, rec.path)
        if fault:
            return self._json(fault.status, fault.data, fault.headers)
        try:
            if rec.path.startswith("/git/"):
                return self._git(rec)
            if rec.path.startswith(API_PREFIX + "/"):
                return self._api(rec)
            return self._json(404, {"message": "Not Found"})
        except Exception as exc:  # a bug in the fake shows up as a 500 with the reason
            return self._json(500, {"message": f"fake server error: {type(exc).__name__}: {exc}"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.rec.status = status
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(data).encode() if data is not None else b""
        self._send(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})

    # -- git smart HTTP ------------------------------------------------------------------------
    def _git(self, rec: Recorded) -> None:
        pushing = "git-receive-pack" in rec.path or "service=git-receive-pack" in rec.query
        expected = "basic " + base64.b64encode(f"x-access-token:{self.fake.token}".encode()).decode()
        authed = [a.lower() for a in rec.header_all("Authorization")] == [expected.lower()]
        if pushing and not authed:
            return self._send(401, b"authentication required\n",
                              {"WWW-Authenticate": 'Basic realm="fake github"', "Content-Type": "text/plain"})
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_PROJECT_ROOT": str(self.fake.root / "git"),
               "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": rec.path[len("/git"):], "REQUEST_METHOD": rec.method,
               "QUERY_STRING": rec.query, "CONTENT_TYPE": rec.header("Content-Type"),
               "CONTENT_LENGTH": str(len(rec.body)), "REMOTE_ADDR": "127.0.0.1", "GIT_CONFIG_NOSYSTEM": "1",
               "HOME": str(self.fake.root)}
        if authed:
            env["REMOTE_USER"] = "x-access-token"
        for h in ("Content-Encoding", "Git-Protocol"):
            if rec.header(h):
                env["HTTP_" + h.upper().replace("-", "_")] = rec.header(h)
        out = subprocess.run(["git", "http-backend"], input=rec.body, capture_output=True, env=env).stdout
        head, _, body = out.partition(b"\r\n\r\n") if b"\r\n\r\n" in out else out.partition(b"\n\n")
        status, headers = 200, {}
        for line in head.decode("latin-1").splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers[name.strip()] = value.strip()
        self._send(status, body, headers)

    # -- the REST API --------------------------------------------------------------------------
    def _api(self, rec: Recorded) -> None:
        fake = self.fake
        auth = rec.header("Authorization")
        if auth and auth not in (f"Bearer {fake.token}", f"token {fake.token}"):
            return self._json(401, {"message": "Bad credentials"})
        if not auth and rec.method != "GET":
            return self._json(401, {"message": "Requires authentication"})
        path = rec.path[len(API_PREFIX):]
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", path)
        if not m or m.group(1) not in fake.repos:
            return self._json(404, {"message": "Not Found"})
        repo, rest = fake.repos[m.group(1)], m.group(2) or ""
        payload = json.loads(rec.body) if rec.body else {}
        query = {k: v[0] for k, v in parse_qs(rec.query).items()}
        for method, pattern, fn in _ROUTES:
            if rec.method == method and (mm := re.fullmatch(pattern, rest)):
                status, data = fn(self, repo, payload, query, *mm.groups())
                return self._json(status, data)
        return self._json(404, {"message": "Not Found"})

    def _repo(self, repo: _Repo, payload, query):
        owner, name = repo.full_name.split("/")
        return 200, {"full_name": repo.full_name, "name": name, "owner": {"login": owner},
                     "default_branch": repo.default_branch, "private": False,
                     "html_url": f"{self.fake.base}/{repo.full_name}"}

    def _issue(self, repo: _Repo, payload, query, number):
        n = int(number)
        if n in repo.issues:
            return 200, repo.issues[n]
        if n in repo.pulls:
            pr = repo.pulls[n]
            return 200, {**{k: pr[k] for k in ("number", "title", "body", "state", "html_url", "user")},
                         "pull_request": {"url": pr["url"], "html_url": pr["html_url"]}}
        return 404, {"message": "Not Found"}

    def _list_comments(self, repo: _Repo, payload, query, number):
        return 200, repo.comments.get(int(number), [])

    def _create_comment(self, repo: _Repo, payload, query, number):
        n = int(number)
        if n not in repo.issues and n not in repo.pulls:
            return 404, {"message": "Not Found"}
        if not isinstance(payload.get("body"), str) or not payload["body"]:
            return 422, {"message": "Validation Failed", "errors": [{"field": "body", "code": "missing_field"}]}
        cid = self.fake._new_id()
        comment = {"id": cid, "body": payload["body"], "user": BOT_USER, "author_association": "NONE",
                   "html_url": f"{self.fake.base}/{repo.full_name}/issues/{n}#issuecomment-{cid}"}
        repo.comments.setdefault(n, []).append(comment)
        return 201, comment

    def _list_pulls(self, repo: _Repo, payload, query):
        out = list(repo.pulls.values())
        if query.get("state", "open") != "all":
            out = [p for p in out if p["state"] == query.get("state", "open")]
        if "head" in query:
            out = [p for p in out if p["head"]["label"] == query["head"]]
        if "base" in query:
            out = [p for p in out if p["base"]["ref"] == query["base"]]
        return 200, out

    def _create_pull(self, repo: _Repo, payload, query):
        missing = [f for f in ("title", "head", "base") if not payload.get(f)]
        if missing:
            return 422, {"message": "Validation Failed",
                         "errors": [{"field": f, "code": "missing_field"} for f in missing]}
        owner = repo.full_name.split("/")[0]
        head = payload["head"].split(":", 1)[-1]
        label = f"{owner}:{head}"
        head_sha = self.fake.branch_sha(repo.full_name, head)
        base_sha = self.fake.branch_sha(repo.full_name, payload["base"])
        if head_sha is None or base_sha is None:
            field_name = "head" if head_sha is None else "base"
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "PullRequest", "field": field_name, "code": "invalid"}]}
        if any(p["state"] == "open" and p["head"]["label"] == label for p in repo.pulls.values()):
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "PullRequest", "code": "custom",
                                     "message": f"A pull request already exists for {label}."}]}
        if head_sha == base_sha:
            return 422, {"message": "Validation Failed",
                         "errors": [{"resource": "PullRequest", "code": "custom",
                                     "message": f"No commits between {payload['base']} and {head}"}]}
        n = max([0, *repo.issues, *repo.pulls]) + 1
        pr = {"number": n, "state": "open", "title": payload["title"], "body": payload.get("body") or "",
              "url": f"{self.fake.api_url}/repos/{repo.full_name}/pulls/{n}",
              "html_url": f"{self.fake.base}/{repo.full_name}/pull/{n}", "user": BOT_USER,
              "head": {"ref": head, "label": label, "sha": head_sha}, "base": {"ref": payload["base"]},
              "maintainer_can_modify": bool(payload.get("maintainer_can_modify"))}
        repo.pulls[n] = pr
        return 201, pr

    def _get_pull(self, repo: _Repo, payload, query, number):
        pr = repo.pulls.get(int(number))
        return (200, pr) if pr else (404, {"message": "Not Found"})

    def _update_pull(self, repo: _Repo, payload, query, number):
        pr = repo.pulls.get(int(number))
        if not pr:
            return 404, {"message": "Not Found"}
        for key in ("title", "body", "state"):
            if key in payload:
                pr[key] = payload[key]
        if "base" in payload:
            pr["base"] = {"ref": payload["base"]}
        pr["head"]["sha"] = self.fake.branch_sha(repo.full_name, pr["head"]["ref"]) or pr["head"]["sha"]
        return 200, pr

    def _permission(self, repo: _Repo, payload, query, user):
        if user == "ghost":
            return 404, {"message": "Not Found"}
        role = repo.permissions.get(user, "read")
        # GitHub's `permission` folds maintain into write and triage into read; `role_name` keeps it
        permission = {"maintain": "write", "triage": "read"}.get(role, role)
        return 200, {"permission": permission, "role_name": role, "user": {"login": user, "type": "User"}}

    def _git_ref(self, repo: _Repo, payload, query, ref):
        if not ref.startswith("heads/"):
            return 404, {"message": "Not Found"}
        sha = self.fake.branch_sha(repo.full_name, ref[len("heads/"):])
        if sha is None:
            return 404, {"message": "Not Found"}
        return 200, {"ref": f"refs/{ref}", "object": {"sha": sha, "type": "commit"}}


_ROUTES = [
    ("GET", r"", _Handler._repo),
    ("GET", r"/issues/(\d+)", _Handler._issue),
    ("GET", r"/issues/(\d+)/comments", _Handler._list_comments),
    ("POST", r"/issues/(\d+)/comments", _Handler._create_comment),
    ("GET", r"/pulls", _Handler._list_pulls),
    ("POST", r"/pulls", _Handler._create_pull),
    ("GET", r"/pulls/(\d+)", _Handler._get_pull),
    ("PATCH", r"/pulls/(\d+)", _Handler._update_pull),
    ("GET", r"/git/ref/(.+)", _Handler._git_ref),
    ("GET", r"/collaborators/([^/]+)/permission", _Handler._permission),
]
