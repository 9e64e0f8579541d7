"""`patchwright tool`: run one agent tool on a repository (through a private LocalWorkspace copy)
and print its answer, or list the tools with their schemas. For debugging and scripting."""

from __future__ import annotations

import json
import sys

import click

from sandbox.errors import UserError


def _signature(spec) -> str:
    props = spec.parameters.get("properties", {})
    required = set(spec.parameters.get("required", []))
    parts = []
    for name, schema in props.items():
        t = schema.get("type", "any")
        if t == "array":
            t = f"{schema.get('items', {}).get('type', 'any')}[]"
        default = f" = {json.dumps(schema['default'])}" if "default" in schema else ""
        parts.append(f"{name}: {t}" if name in required else f"{name}?: {t}{default}")
    return f"{spec.name}({', '.join(parts)})"


def list_tools(fmt: str) -> str:
    # imported when the command runs, so --help and usage errors stay fast
    from tools.toolset import TOOLS

    specs = TOOLS.specs()
    if fmt == "json":
        return json.dumps([{"name": s.name, "description": s.description, "parameters": s.parameters}
                           for s in specs], indent=2)
    if fmt == "openai":
        return json.dumps([s.openai_schema() for s in specs], indent=2)
    if fmt == "anthropic":
        return json.dumps([s.anthropic_schema() for s in specs], indent=2)
    out = []
    for s in specs:
        out.append(_signature(s))
        out.append("    " + s.description.replace("\n\n", "\n    "))
        for name, schema in s.parameters.get("properties", {}).items():
            out.append(f"      {name}: {schema.get('description', '')}")
    return "\n".join(out)


@click.command()
@click.argument("name", required=False)
@click.option("--repo", default=".", show_default=True, type=click.Path(file_okay=False),
              help="The repository (a private copy is made; your files are not changed).")
@click.option("--args", "args_json", default="{}", show_default=True, help="The tool's arguments, a JSON object.")
@click.option("--list", "list_only", is_flag=True, help="List the tools and their argument schemas.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "openai", "anthropic"]), default="text",
              show_default=True, help="With --list: text, the neutral JSON specs, or a provider's tool format.")
@click.option("--diff", "show_diff", is_flag=True, help="After the answer, print the diff the tool made.")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"tool", "arguments", "is_error", "text", "diff"} as one JSON object.')
def tool(name, repo, args_json, list_only, fmt, show_diff, as_json):
    """Run the agent tool NAME on a copy of REPO with --args, and print its answer.

    Exit status: 0 when the tool answered, 1 when it refused the call (its answer says why).

    Example: patchwright tool view_symbol --repo . --args '{"name": "main"}'
    """
    if list_only:
        click.echo(list_tools("json" if as_json and fmt == "text" else fmt))
        return 0
    if not name:
        raise UserError("name a tool (patchwright tool --list shows them)")
    # imported when the command runs, so --help and usage errors stay fast
    from tools.toolset import TOOLS

    if TOOLS.get(name) is None:
        raise UserError(f"there is no tool named '{name}' (tools: {', '.join(TOOLS.names())})")
    try:
        arguments = json.loads(args_json)
    except ValueError as exc:
        raise UserError(f"--args is not valid JSON ({exc})") from None
    if not isinstance(arguments, dict):
        raise UserError('--args must be a JSON object, e.g. \'{"path": "setup.py"}\'')
    # imported when the command runs, so --help and usage errors stay fast
    # imported when the command runs, so --help and usage errors stay fast
    from sandbox.workspace import LocalWorkspace, resolve_repo
    from tools.context import ToolContext

    with LocalWorkspace(resolve_repo(repo)) as ws:
        result = TOOLS.call(ToolContext(ws), name, arguments)
        diff = ws.diff() if (show_diff or as_json) else ""
    if as_json:
        click.echo(json.dumps({"tool": name, "arguments": arguments, "is_error": result.is_error,
                               "text": result.text, "diff": diff}))
    else:
        sys.stdout.write(result.text.rstrip("\n") + "\n")
        if show_diff and diff:
            sys.stdout.write(diff)
    return 1 if result.is_error else 0
