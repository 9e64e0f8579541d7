"""Requirement strings: names, Poetry constraints, requirement files, pytest plugins, import names."""

from __future__ import annotations

import posixpath
import re
import shlex

from packaging.requirements import InvalidRequirement, Requirement

from .tree import Tree


def canon(name: str) -> str:
    """A distribution name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def req_name(req: str) -> str | None:
    """The canonical distribution name of a requirement string, or None when it has none (a path, an option)."""
    try:
        return canon(Requirement(req).name)
    except InvalidRequirement:
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
        return canon(m.group(1)) if m and not req.strip().startswith(("-", ".", "/")) else None


def valid(req: str) -> bool:
    try:
        Requirement(req)
        return True
    except InvalidRequirement:
        return False


# --------------------------------------------------------------------------------------------
# Poetry's constraints -> PEP 440


def _bump(parts: list[int], index: int) -> str:
    out = parts[: index + 1]
    out[index] += 1
    return ".".join(map(str, out))


def poetry_constraint(spec: str) -> str:
    """`^1.2` -> `>=1.2,<2.0`, `~1.2.3` -> `>=1.2.3,<1.3`, `1.2` -> `==1.2`, `*` -> `` (PEP 440)."""
    spec = spec.strip()
    if spec in ("", "*") or "||" in spec or "|" in spec:
        return ""
    out = []
    for part in re.split(r"\s*,\s*|\s+(?=[<>=!~^])", spec):
        part = part.strip()
        m = re.fullmatch(r"([\^~]=?)\s*(\d+(?:\.\d+)*)(.*)", part)
        if m:
            op, ver, rest = m.groups()
            nums = [int(x) for x in ver.split(".")]
            if op == "^":
                index = next((i for i, n in enumerate(nums) if n != 0), len(nums) - 1)
            else:
                index = 1 if len(nums) > 1 else 0
            out.append(f">={ver}{rest},<{_bump(nums, index)}")
        elif re.fullmatch(r"\d+(\.\d+|\.\*)*", part):
            out.append(f"=={part}")
        elif part:
            out.append(part)
    return ",".join(out)


def poetry_requirement(name: str, spec) -> str | None:
    """A PEP 508 string for one Poetry dependency entry; None for path/git/url ones and `python`."""
    if canon(name) == "python":
        return None
    if isinstance(spec, list):
        spec = spec[0] if spec and isinstance(spec[0], dict) else "*"
        if isinstance(spec, dict):
            spec = {k: v for k, v in spec.items() if k in ("version", "extras")}
    markers = []
    extras = ""
    if isinstance(spec, dict):
        if any(k in spec for k in ("git", "path", "url", "file")):
            return None
        if spec.get("extras"):
            extras = "[" + ",".join(spec["extras"]) + "]"
        if spec.get("python"):
            pyc = python_constraint(str(spec["python"]))
            if pyc:
                markers.append(" and ".join(f"python_version {c}" for c in _marker_parts(pyc)))
        if spec.get("markers"):
            markers.append(f"({spec['markers']})")
        version = poetry_constraint(str(spec.get("version", "*")))
    else:
        version = poetry_constraint(str(spec))
    req = f"{name}{extras}{version}"
    if markers:
        req += "; " + " and ".join(markers)
    return req if valid(req) else f"{name}{extras}"


def python_constraint(spec: str) -> str:
    """A Poetry or PEP 440 Python constraint as PEP 440."""
    return poetry_constraint(spec) if re.search(r"[\^~](?!=)|^\d", spec.strip()) else spec.strip()


def _marker_parts(spec: str) -> list[str]:
    return [f"{m.group(1)} '{m.group(2)}'" for m in re.finditer(r"(>=|<=|==|!=|<|>)\s*([\d.*]+)", spec)]


# --------------------------------------------------------------------------------------------
# requirement files


class RequirementFile:
    """The requirements of one file with its `-r` includes inlined; `-e .[x]` lines name project extras."""

    def __init__(self, tree: Tree, path: str):
        self.path = path
        self.lines: list[str] = []
        self.files: list[str] = []
        self.extras: list[str] = []
        self.installs_project = False
        self.skipped: list[str] = []
        self._read(tree, path, set())

    def _read(self, tree: Tree, path: str, seen: set[str]) -> None:
        if path in seen:
            return
        seen.add(path)
        text = tree.read(path)
        if text is None:
            return
        self.files.append(path)
        base = posixpath.dirname(path)
        for raw in text.replace("\\\n", " ").splitlines():
            line = re.sub(r"(^|\s)#.*$", "", raw).strip()
            if not line:
                continue
            words = line.split()
            if words[0] in ("-r", "--requirement") and len(words) > 1 or line.startswith(("-r", "--requirement=")):
                target = words[1] if len(words) > 1 else line.split("=", 1)[-1].removeprefix("-r")
                self._read(tree, posixpath.normpath(posixpath.join(base, target)), seen)
                continue
            if words[0] in ("-c", "--constraint") or line.startswith(("-c", "--constraint")):
                continue
            target = words[1] if words[0] in ("-e", "--editable") and len(words) > 1 else words[0]
            local = re.match(r"^(\.{1,2}(?:/[^\[]*)?)(\[[^\]]*\])?$", target)
            if local or target.startswith(("file:", "/")):
                where = posixpath.normpath(posixpath.join(base, local.group(1))) if local else target
                if local and where in (".", ""):
                    self.installs_project = True
                    if local.group(2):
                        self.extras += [e.strip() for e in local.group(2)[1:-1].split(",") if e.strip()]
                else:
                    self.skipped.append(line)
                continue
            if words[0].startswith("-") and words[0] not in ("-e", "--editable"):
                if words[0] in ("-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--pre",
                                "--prefer-binary", "--only-binary", "--no-binary"):
                    self.lines.append(line)
                continue
            self.lines.append(line)


# --------------------------------------------------------------------------------------------
# pytest plugins named by options, ini keys, `-p` and markers; modules named by imports

OPTION_PLUGINS = {
    "--cov": "pytest-cov", "--no-cov": "pytest-cov", "-n": "pytest-xdist", "--numprocesses": "pytest-xdist",
    "--dist": "pytest-xdist", "--maxprocesses": "pytest-xdist", "--timeout": "pytest-timeout",
    "--benchmark": "pytest-benchmark", "--codspeed": "pytest-codspeed", "--reruns": "pytest-rerunfailures",
    "--only-rerun": "pytest-rerunfailures", "--mypy": "pytest-mypy", "--asyncio-mode": "pytest-asyncio",
    "--flake8": "pytest-flake8", "--randomly": "pytest-randomly", "--hypothesis": "hypothesis",
    "--doctest-plus": "pytest-doctestplus", "--doctest-rst": "pytest-doctestplus", "--mpl": "pytest-mpl",
    "--remote-data": "pytest-remotedata", "--snapshot-update": "syrupy", "--ds": "pytest-django",
    "--forked": "pytest-forked", "--html": "pytest-html", "--memray": "pytest-memray",
    "--markdown-docs": "pytest-markdown-docs", "--mypy-ini-file": "pytest-mypy-plugins",
    "--inline-snapshot": "inline-snapshot", "--black": "pytest-black", "--isort": "pytest-isort",
    "--pylint": "pytest-pylint", "--ruff": "pytest-ruff", "--env": "pytest-env", "--instafail": "pytest-instafail",
    "--sugar": "pytest-sugar", "--ignore-glob-tb": None, "--aiohttp": "pytest-aiohttp",
    "--record-mode": "pytest-recording", "--vcr-record": "pytest-vcr", "--testmon": "pytest-testmon",
    "--socket-disabled": "pytest-socket", "--disable-socket": "pytest-socket", "--allow-hosts": "pytest-socket",
}
INI_PLUGINS = {
    "asyncio_mode": "pytest-asyncio", "asyncio_default_fixture_loop_scope": "pytest-asyncio",
    "timeout": "pytest-timeout", "timeout_method": "pytest-timeout", "env": "pytest-env",
    "DJANGO_SETTINGS_MODULE": "pytest-django", "django_find_project": "pytest-django",
    "trio_mode": "pytest-trio", "mock_use_standalone_module": "pytest-mock", "mock_traceback_monkeypatch": "pytest-mock",
    "doctest_plus": "pytest-doctestplus", "doctest_rst": "pytest-doctestplus", "flake8-ignore": "pytest-flake8",
    "looponfailroots": "pytest-xdist", "rsyncdirs": "pytest-xdist", "mypy-testing-base": "pytest-mypy-testing",
    "mpl-results-path": "pytest-mpl", "remote_data_strict": "pytest-remotedata", "markdown-docs": None,
    "reruns": "pytest-rerunfailures", "httpx_mock": "pytest-httpx", "memray": "pytest-memray",
    "testmon": "pytest-testmon",
}
MODULE_PLUGINS = {
    "xdist": "pytest-xdist", "pytest_cov": "pytest-cov", "pytest_mock": "pytest-mock", "anyio": "anyio",
    "trio": "pytest-trio", "pytest_trio": "pytest-trio", "pytest_asyncio": "pytest-asyncio",
    "asyncio": "pytest-asyncio", "randomly": "pytest-randomly", "pytest_randomly": "pytest-randomly",
    "doctestplus": "pytest-doctestplus", "pytest_doctestplus": "pytest-doctestplus",
    "timeout": "pytest-timeout", "pytest_timeout": "pytest-timeout", "rerunfailures": "pytest-rerunfailures",
    "pytest_rerunfailures": "pytest-rerunfailures", "hypothesis": "hypothesis", "syrupy": "syrupy",
    "pytest_django": "pytest-django", "django": "pytest-django", "subtests": "pytest-subtests",
    "pytest_subtests": "pytest-subtests", "benchmark": "pytest-benchmark", "pytest_benchmark": "pytest-benchmark",
    "pytest_httpbin": "pytest-httpbin", "pytest_httpserver": "pytest-httpserver", "pytest_lazyfixture":
    "pytest-lazy-fixture", "pytest_env": "pytest-env", "pytest_socket": "pytest-socket",
}
BUILTIN_PLUGINS = {"pytester", "doctest", "cacheprovider", "warnings", "faulthandler", "logging", "capture",
                   "junitxml", "terminal", "unraisableexception", "threadexception", "tmpdir", "monkeypatch",
                   "recwarn", "skipping", "stepwise", "legacypath", "nose", "python", "setuponly", "setupplan",
                   "debugging", "pastebin", "lsof"}
FIXTURE_PLUGINS = {
    "mocker": "pytest-mock", "class_mocker": "pytest-mock", "module_mocker": "pytest-mock",
    "benchmark": "pytest-benchmark", "httpbin": "pytest-httpbin", "httpbin_secure": "pytest-httpbin",
    "httpserver": "pytest-httpserver", "snapshot": "syrupy", "freezer": "pytest-freezer",
    "httpx_mock": "pytest-httpx", "requests_mock": "requests-mock", "aiohttp_client": "pytest-aiohttp",
    "event_loop": "pytest-asyncio", "subtests": "pytest-subtests", "datadir": "pytest-datadir",
    "shared_datadir": "pytest-datadir", "fs": "pyfakefs", "respx_mock": "respx", "virtualenv": None,
    "nursery": "pytest-trio", "autojump_clock": "pytest-trio", "django_user_model": "pytest-django",
}
ALSO_PROVIDED_BY = {"benchmark": ("pytest-codspeed",)}
"""Fixtures and markers another plugin provides as well: a project that requires it does not get the
usual one on top (yarl requires pytest-codspeed; pytest-benchmark beside xdist warns, and its
`filterwarnings = error` made that a collection error)."""
MARKER_PLUGINS = {
    "asyncio": "pytest-asyncio", "trio": "pytest-trio", "anyio": "anyio", "benchmark": "pytest-benchmark",
    "timeout": "pytest-timeout", "django_db": "pytest-django", "flaky": "pytest-rerunfailures",
    "vcr": "pytest-recording", "httpx_mock": "pytest-httpx", "freeze_time": "pytest-freezer",
    "mpl_image_compare": "pytest-mpl", "remote_data": "pytest-remotedata", "order": "pytest-order",
    "dependency": "pytest-dependency", "repeat": "pytest-repeat", "datafiles": "pytest-datafiles",
    "enable_socket": "pytest-socket", "randomize": None,
}
IMPORT_DISTS = {
    "yaml": "PyYAML", "PIL": "Pillow", "dateutil": "python-dateutil", "attr": "attrs", "bs4": "beautifulsoup4",
    "cv2": "opencv-python-headless", "sklearn": "scikit-learn", "jwt": "PyJWT", "Crypto": "pycryptodome",
    "OpenSSL": "pyOpenSSL", "magic": "python-magic", "dotenv": "python-dotenv", "serial": "pyserial",
    "zmq": "pyzmq", "docx": "python-docx", "git": "GitPython", "pkg_resources": "setuptools",
    "_pytest": "pytest", "jose": "python-jose", "multipart": "python-multipart", "socks": "PySocks",
    "slugify": "python-slugify", "google": None, "pytest_httpbin": "pytest-httpbin", "mock": "mock",
    "lxml": "lxml", "Levenshtein": "python-Levenshtein", "nacl": "PyNaCl", "gi": None, "wx": None,
    "skimage": "scikit-image", "memcache": "python-memcached", "MySQLdb": "mysqlclient", "psycopg2": "psycopg2-binary",
    "win32api": None, "win32con": None, "pywintypes": None, "_winapi": None, "msvcrt": None, "winreg": None,
    "objc": None, "Foundation": None, "AppKit": None, "js": None, "pyodide": None, "cython": "Cython",
    "Cython": "Cython", "pydantic_core": "pydantic-core", "markdown_it": "markdown-it-py", "toml": "toml",
}


def plugin_for_option(word: str) -> str | None:
    """The plugin distribution an addopts word needs (`--cov=x` -> pytest-cov), or None."""
    key = word.split("=", 1)[0]
    if key in OPTION_PLUGINS:
        return OPTION_PLUGINS[key]
    for prefix, dist in (("--cov", "pytest-cov"), ("--benchmark", "pytest-benchmark"), ("--randomly", "pytest-randomly"),
                         ("--hypothesis", "hypothesis"), ("--timeout", "pytest-timeout"), ("--reruns", "pytest-rerunfailures"),
                         ("--mypy", "pytest-mypy"), ("--doctest-plus", "pytest-doctestplus"), ("--mpl", "pytest-mpl")):
        if key.startswith(prefix):
            return dist
    if re.fullmatch(r"-n\d+|-nauto|-nlogical", word):
        return "pytest-xdist"
    return None


def plugin_for_module(module: str) -> str | None:
    """The distribution of a `-p NAME` plugin module; None for built-in ones and `no:` switches."""
    if module.startswith("no:") or module in BUILTIN_PLUGINS:
        return None
    if module in MODULE_PLUGINS:
        return MODULE_PLUGINS[module]
    top = module.split(".")[0]
    if top.startswith("pytest_"):
        return top.replace("_", "-")
    return None


def addopts_words(value) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        return shlex.split(str(value))
    except ValueError:
        return str(value).split()


# --------------------------------------------------------------------------------------------
# pytest releases

PYTEST_RELEASES: tuple[tuple[str, str], ...] = (
    ("4.0", "2018-11-14"), ("4.1", "2019-01-06"), ("4.2", "2019-01-30"), ("4.3", "2019-02-18"),
    ("4.4", "2019-03-31"), ("4.5", "2019-05-11"), ("4.6", "2019-06-01"),
    ("5.0", "2019-06-29"), ("5.1", "2019-08-16"), ("5.2", "2019-09-29"), ("5.3", "2019-11-19"), ("5.4", "2020-03-12"),
    ("6.0", "2020-07-28"), ("6.1", "2020-09-26"), ("6.2", "2020-12-12"),
    ("7.0", "2022-02-04"), ("7.1", "2022-03-13"), ("7.2", "2022-10-25"), ("7.3", "2023-04-08"), ("7.4", "2023-06-23"),
    ("8.0", "2024-01-27"), ("8.1", "2024-03-03"), ("8.2", "2024-04-27"), ("8.3", "2024-07-20"), ("8.4", "2025-06-02"),
    ("9.0", "2025-11-08"), ("9.1", "2026-06-13"), ("9.2", "2026-10-27"),
)
"""pytest's feature releases (X.Y.0) and the day of their first upload to PyPI (its JSON API, read
2026-12-03): each can add deprecation warnings."""


def pytest_before(date: str | None) -> str | None:
    """`pytest<X.Y` for the first feature release of pytest after `date` (YYYY-MM-DD): the pytest a
    repository last tested with at that date, whose deprecations its warning filters allowed for;
    None when the date is unknown or no release in the table came after it."""
    if not date:
        return None
    for version, released in PYTEST_RELEASES:
        if released > date:
            return f"pytest<{version}"
    return None


_WARNINGS_AS_ERRORS = re.compile(r"error(::(\w+\.)*(Warning|DeprecationWarning|PendingDeprecationWarning|Pytest\w*Warning)"
                                 r"(::.*)?)?")


def warnings_are_errors(opts: dict) -> bool:
    """Whether pytest's ini options turn (deprecation) warnings into errors: `filterwarnings = error`
    (or `error::DeprecationWarning`), or `-W error` in addopts."""
    filters = opts.get("filterwarnings", "")
    lines = filters if isinstance(filters, list) else str(filters).splitlines()
    if any(_WARNINGS_AS_ERRORS.fullmatch(str(line).strip().strip("'\"")) for line in lines):
        return True
    words = addopts_words(opts.get("addopts", ""))
    for i, w in enumerate(words):
        value = words[i + 1] if w in ("-W", "--pythonwarnings") and i + 1 < len(words) else \
            w[2:] if w.startswith("-W") else w.split("=", 1)[1] if w.startswith("--pythonwarnings=") else None
        if value is not None and _WARNINGS_AS_ERRORS.fullmatch(value):
            return True
    return False
