"""Rendering the prompt templates (`prompts/*.j2`) with jinja2 and StrictUndefined.

A variable a template uses but the caller did not pass is an error naming both, never an empty
string in a prompt.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

import prompts
from sandbox.errors import SystemFault

PROMPTS_DIR = Path(prompts.__file__).parent


class PromptError(SystemFault):
    """A template is missing, malformed, or needs a variable that was not given: the templates ship
    with patchwright, so this is the system's fault, not the user's (exit 1)."""


@cache
def environment(template_dir: str | None = None) -> jinja2.Environment:
    """The jinja2 environment for a template directory (default: the `prompts` package)."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(template_dir or str(PROMPTS_DIR)),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                              trim_blocks=True, lstrip_blocks=True, autoescape=False)


def render(name: str, /, template_dir: str | Path | None = None, **variables: Any) -> str:
    """Render template `name` (".j2" may be left out) with `variables`."""
    file = name if name.endswith(".j2") else f"{name}.j2"
    env = environment(str(template_dir) if template_dir else None)
    try:
        return env.get_template(file).render(**variables)
    except jinja2.TemplateNotFound:
        where = template_dir or PROMPTS_DIR
        raise PromptError(f"prompt template {file} not found in {where}") from None
    except jinja2.UndefinedError as exc:
        raise PromptError(f"prompt template {file}: {exc.message}; pass it to render()") from None
    except jinja2.TemplateSyntaxError as exc:
        raise PromptError(f"prompt template {file} line {exc.lineno}: {exc.message}") from None
