"""The environment image: base Python -> dependencies -> the repository, built from a `Recipe`.

One Dockerfile, three stages of layers. The dependencies layer copies only the generated
requirement list (so the engine's layer cache keeps it across source edits), the repository
layer copies the tree and installs the project (editable when the backend can, else a regular
install), then runs the repository's setup commands. What the install wrote into the tree and
git ignores (a generated `_version.py`, an in-place built extension, `*.egg-info`) is kept in
`GENERATED`, so a workspace that copies a fresh tree over /testbed can put it back.

The tag hashes the recipe and the dependency files (tag.py), so the image is reused until a
dependency changes. A failed build raises `EnvironmentBuildError` with one line that says what
to state in `[tool.patchwright]`.
"""

from __future__ import annotations

import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..docker_util import LABEL, LABEL_KIND, docker_client
from ..errors import UserError
from ..images import (
    BUILD_CA_PATH,
    BUILD_NET,
    ImageBuildError,
    build_image,
    copy_host_ca,
    ensure_base_for,
    ensure_base_image,
    image_exists,
)
from .recipe import Recipe
from .tag import env_tag
from .tree import DirTree, GitTree, Tree

TESTBED = "/testbed"
STATE = "/opt/patchwright"
GENERATED = f"{STATE}/generated.tar"
"""Files the install wrote into the repository that git ignores (restored into a workspace)."""
REPORT = f"{STATE}/report.txt"
"""What the build could not do: `optional NAME`, `requirement LINE` (one a line)."""
LABEL_REPO = "patchwright.env.repo"
_COMPILER_MISSING = r"gcc.*(not found|No such file)|command '(x86_64-linux-gnu-)?(gcc|cc|g\+\+)' failed|unable to execute '?(gcc|cc)|error: command .*gcc|Microsoft Visual C\+\+|cc: not found"

_DEPS_SCRIPT = r"""#!/bin/sh
# Installs the dependencies layer: all requirements at once, else one by one (noting what fails);
# a compiler is installed and the step tried again when a wheel had to be built without one.
set -u
mkdir -p {state}
apt_compiler() {{
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends gcc g++ make >/dev/null \
    && rm -rf /var/lib/apt/lists/* && echo "compiler gcc" >> {report}
}}
try() {{
  out=$(python -m pip install -q "$@" 2>&1); rc=$?
  if [ $rc -ne 0 ] && echo "$out" | grep -Eq "{compiler}" && ! command -v gcc >/dev/null; then
    apt_compiler && {{ out=$(python -m pip install -q "$@" 2>&1); rc=$?; }}
  fi
  if [ $rc -ne 0 ] && echo "$out" | grep -q "uninstall-no-record-file"; then
    out=$(python -m pip install -q --ignore-installed "$@" 2>&1); rc=$?
  fi
  [ $rc -ne 0 ] && echo "$out" | tail -n 15
  return $rc
}}
if [ -s {state}/requirements.txt ] && [ -s {state}/constraints.txt ] \
    && try -r {state}/requirements.txt -c {state}/constraints.txt; then
  echo "constraints used" >> {report}
elif [ -s {state}/requirements.txt ] && ! try -r {state}/requirements.txt; then
  echo "patchwright: the requirements do not install together; one by one"
  grep -v '^[[:space:]]*-' {state}/requirements.txt | while IFS= read -r line; do
    [ -n "$line" ] && {{ try "$line" || echo "requirement $line" >> {report}; }}
  done
fi
if [ -s {state}/optional.txt ]; then
  while IFS= read -r line; do
    try "$line" >/dev/null 2>&1 || echo "optional $line" >> {report}
  done < {state}/optional.txt
fi
touch {report}
"""

_PROJECT_SCRIPT = r"""#!/bin/sh
# Installs the repository: editable with its extras, else a regular install, else without the extras
# (their requirements are in the dependencies layer already); a compiler is installed when a build
# needs one, and a package the system installed (no RECORD file) is installed over.
set -u
cd {testbed}
install() {{
  out=$(python -m pip install -q "$@" 2>&1); rc=$?
  if [ $rc -ne 0 ] && echo "$out" | grep -Eq "{compiler}" && ! command -v gcc >/dev/null; then
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends gcc g++ make >/dev/null \
      && rm -rf /var/lib/apt/lists/* && echo "compiler gcc" >> {report}
    out=$(python -m pip install -q "$@" 2>&1); rc=$?
  fi
  if [ $rc -ne 0 ] && echo "$out" | grep -q "uninstall-no-record-file"; then
    out=$(python -m pip install -q --ignore-installed --no-deps "$@" 2>&1); rc=$?
  fi
  [ $rc -ne 0 ] && echo "$out" | tail -n 25 >&2
  return $rc
}}
first=""
for target in "$1" .; do
  if install -e "$target"; then echo "install editable $target" >> {report}; exit 0; fi
  [ -z "$first" ] && first=$out
  if install "$target"; then echo "install regular $target" >> {report}; exit 0; fi
  [ "$target" = . ] && break
done
echo "PATCHWRIGHT-INSTALL-FAILED: $(echo "$first" | grep -E '^(ERROR|error|\s*error:|.*Error)' | grep -v 'subprocess-exited-with-error' | tail -n 1 | cut -c1-200)" >&2
exit 1
"""


class EnvironmentBuildError(UserError):
    """The environment could not be built: a one-line message, the build log in `log`."""

    exit_code = 1

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log


def base_image_for(python: str, say=None) -> str:
    """The base image of a Python version (built when missing)."""
    return ensure_base_image(python, progress=say)


@dataclass
class EnvImage:
    """The image of a repository's environment and what its build reported."""

    tag: str
    built: bool = False
    """Whether this call built it (False: reused)."""
    seconds: float = 0.0
    missing: list[str] = field(default_factory=list)
    """Requirements that could not be installed (`optional NAME` guesses, `requirement LINE`)."""
    install: str = ""
    """`editable`, `regular`, `command` (the repository's own install), `none`, or `image` (named by the repository)."""
    log: str = ""


def project_target(recipe: Recipe) -> str:
    return "." + (f"[{','.join(recipe.extras)}]" if recipe.extras else "")


def dockerfile(recipe: Recipe, base: str) -> str:
    lines = [f"FROM {base}", f"COPY host-ca.crt {BUILD_CA_PATH}", f"RUN mkdir -p {STATE}"]
    if recipe.apt_packages:
        lines.append(f"RUN {BUILD_NET}apt-get update -qq && apt-get install -y -qq --no-install-recommends "
                     + " ".join(shlex.quote(p) for p in recipe.apt_packages) + " >/dev/null && rm -rf /var/lib/apt/lists/*")
    lines += [f"COPY requirements.txt constraints.txt optional.txt deps.sh {STATE}/",
              f"RUN {BUILD_NET}sh {STATE}/deps.sh",
              f"COPY repo {TESTBED}", f"WORKDIR {TESTBED}",
              # git knows which files the install adds (they are kept in GENERATED)
              "RUN git config --global --add safe.directory '*' && git init -q . && git add -A >/dev/null 2>&1; "
              "git -c user.name=patchwright -c user.email=patchwright@localhost commit -qm base >/dev/null 2>&1; true"]
    for cmd in recipe.prepare:
        lines.append(f"RUN {BUILD_NET}{cmd}")
    if recipe.install is not None:
        if recipe.install.strip():
            lines.append(f"RUN {BUILD_NET}{recipe.install}")
    elif recipe.project:
        pretend = ""
        if recipe.version:  # the image's repository has no tags: versions from git tags are given
            v = shlex.quote(recipe.version)
            pretend = f"SETUPTOOLS_SCM_PRETEND_VERSION={v} PDM_BUILD_SCM_VERSION={v} "
        lines += [f"COPY project.sh {STATE}/",
                  f"RUN {BUILD_NET}{pretend}sh {STATE}/project.sh {shlex.quote(project_target(recipe))}"]
    for cmd in recipe.setup:
        lines.append(f"RUN {BUILD_NET}{cmd}")
    lines.append(f"RUN git ls-files -o -z | grep -zv -E '(^|/)(__pycache__|\\.git)/|\\.pyc$|^build/' "
                 f"| tar --null -T - -cf {GENERATED}; rm -rf .git; touch {STATE}/report.txt")
    return "\n".join(lines) + "\n"


def _context(ctx: Path, recipe: Recipe, tree: Tree, base: str) -> None:

    ctx.joinpath("Dockerfile").write_text(dockerfile(recipe, base))
    ctx.joinpath("requirements.txt").write_text("".join(r + "\n" for r in recipe.requirements))
    ctx.joinpath("constraints.txt").write_text("".join(r + "\n" for r in recipe.constraints))
    ctx.joinpath("optional.txt").write_text("".join(r + "\n" for r in recipe.optional))
    ctx.joinpath("deps.sh").write_text(_DEPS_SCRIPT.format(state=STATE, report=REPORT, compiler=_COMPILER_MISSING))
    ctx.joinpath("project.sh").write_text(_PROJECT_SCRIPT.format(testbed=TESTBED, report=REPORT,
                                                                 compiler=_COMPILER_MISSING))
    copy_host_ca(str(ctx))
    export_tree(tree, ctx / "repo")


def export_tree(tree: Tree, dest: Path) -> None:
    """Write the tree's files under `dest` (a git commit with `git archive`, a directory file by file)."""
    dest.mkdir(parents=True, exist_ok=True)
    if isinstance(tree, GitTree):
        archive = subprocess.run(["git", "--git-dir", tree.git_dir, "archive", "--format=tar", tree.commit],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
        return
    assert isinstance(tree, DirTree)
    files = "\0".join(tree.files).encode("utf-8", "surrogateescape")
    subprocess.run(f"tar -C {shlex.quote(str(tree.root))} --null -T - -cf - | tar -x -C {shlex.quote(str(dest))}",
                   shell=True, input=files, check=True)


def _failure_line(recipe: Recipe, message: str, log: str) -> str:
    """One line: which step failed, the error, and what to state in [tool.patchwright]."""
    marker = next((ln for ln in log.splitlines() if "PATCHWRIGHT-INSTALL-FAILED:" in ln), "")
    if marker:
        err = marker.split("PATCHWRIGHT-INSTALL-FAILED:", 1)[1].strip() or "see the build log"
        return (f"installing the project (pip install -e \"{project_target(recipe)}\") failed: {err}; state what it "
                "needs in [tool.patchwright] (apt_packages = [...], pip_packages = [...], or install = \"...\")")
    return (f"{message}; state what the environment needs in [tool.patchwright] "
            "(python, apt_packages, pip_packages, install, setup)")


def ensure_env_image(recipe: Recipe, tree: Tree, name: str, *, rebuild: bool = False, say=None) -> EnvImage:
    """The environment image for a recipe: reused when its tag exists, else built (base image first).

    Raises EnvironmentBuildError with one line when a step fails.
    """
    if recipe.image:
        return EnvImage(tag=recipe.image, install="image")
    start = time.monotonic()
    base = ensure_base_for(recipe.python)
    tag = env_tag(recipe, tree, name, base)
    if image_exists(tag) and not rebuild:
        return EnvImage(tag=tag, seconds=time.monotonic() - start, **_report(tag))
    if say:
        say(f"building {tag}")
    with tempfile.TemporaryDirectory(prefix="patchwright-envimg-") as ctx:
        _context(Path(ctx), recipe, tree, base)
        labels = {LABEL: "1", LABEL_KIND: "env", LABEL_REPO: name}
        try:
            log = build_image(tag, ctx, labels)
        except ImageBuildError as exc:
            raise EnvironmentBuildError(_failure_line(recipe, str(exc), exc.log), exc.log) from None
    return EnvImage(tag=tag, built=True, seconds=time.monotonic() - start, log=log, **_report(tag))


def _report(tag: str) -> dict:
    """What the image's build noted: missing requirements and how the project was installed."""
    client = docker_client()
    try:
        out = client.containers.run(tag, ["cat", REPORT], remove=True, network_mode="none").decode(errors="replace")
    except Exception:  # an image made elsewhere, or no report: nothing to say
        return {"missing": [], "install": ""}
    missing = [ln.strip() for ln in out.splitlines() if ln.startswith(("optional ", "requirement "))]
    install = next((ln.split()[1] for ln in out.splitlines() if ln.startswith("install ")), "")
    return {"missing": missing, "install": install}
