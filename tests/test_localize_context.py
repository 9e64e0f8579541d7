"""What localization hands the edit loop: the chosen definitions whole up to a stated budget, with a
note for every line left out; and a conversation that only grows (the issue stays the first user
message of every request, and a request that replaces what an earlier one showed says so). The
model is the real openai SDK client talking to tests/stub_llm.py; the workspace a LocalWorkspace."""

from __future__ import annotations

import json
from pathlib import Path

from tool_helpers import tool_context

from agent.budget import BudgetLimits
from agent.fix import FixRequest, run_fix
from agent.localization import focus_code
from agent.models import make_model
from agent.runtime import AgentConfig
from conftest import make_repo
from sandbox.workspace import LocalWorkspace

LONG = "def long():\n" + "".join(f"    x{i} = {i}\n" for i in range(80)) + "    return x0\n"
SRC = "def small():\n    return 1\n\n\n" + LONG + "\n\ndef after():\n    return 3\n"


def test_definitions_are_whole_while_they_fit_and_every_cut_is_noted(tmp_path):
    with tool_context(tmp_path, {"m.py": SRC}) as ctx:
        roomy = focus_code(ctx, ["m.py:small", "m.py:long", "m.py:after"], 5000)
        assert [(f["id"], f["note"]) for f in roomy] == [("m.py:small", None), ("m.py:long", None),
                                                          ("m.py:after", None)]
        assert roomy[1]["code"].splitlines()[0] == "     5 def long():"
        assert roomy[1]["code"].splitlines()[-1] == "    86     return x0" and len(roomy[1]["code"].splitlines()) == 82

        tight = focus_code(ctx, ["m.py:small", "m.py:long", "m.py:after"], 300)
        small, long, after = tight
        assert small["note"] is None and small["code"].splitlines() == ["     1 def small():", "     2     return 1"]
        shown = long["code"].splitlines()
        first_hidden = 5 + len(shown)
        assert 0 < len(shown) < 82 and shown[-1].split()[0] == str(first_hidden - 1)
        assert long["note"] == (f"{86 - first_hidden + 1} lines not shown (lines {first_hidden}-86): the chosen code "
                                f"is limited to 300 tokens, shared by the 3 chosen definitions; "
                                f"view_file('m.py', start={first_hidden}, end=86) shows them")
        # a long definition first does not eat the budget: the ones after it get their share
        assert after["note"] is None and after["code"].splitlines() == ["    89 def after():", "    90     return 3"]


def test_the_budget_is_shared_between_the_chosen_definitions(tmp_path):
    """On sympy-21379 `Mod.eval` alone filled the chosen-code budget and none of the three chosen
    methods after it was shown: each definition now gets a share."""
    other = "def other():\n" + "".join(f"    y{i} = {i}\n" for i in range(80)) + "    return y0\n"
    with tool_context(tmp_path, {"m.py": SRC + "\n\n" + other}) as ctx:
        long, other_, small = focus_code(ctx, ["m.py:long", "m.py:other", "m.py:small"], 400)
        assert small["note"] is None and small["code"]
        a, b = len(long["code"].splitlines()), len(other_["code"].splitlines())
        assert 20 < a < 82 and 20 < b < 82 and abs(a - b) <= 2  # equal shares of what small leaves
        assert long["note"] and other_["note"]
    from agent.localization import shares
    assert shares([10, 500, 500], 400) == [10, 195, 195] and shares([10, 20], 400) == [10, 20]
    assert shares([300, 50], 200) == [150, 50]


def test_a_cut_skeleton_still_names_every_top_level_definition(tmp_path):
    """sympy's polytools.py: the class Poly's hundreds of methods filled the skeleton's share, and
    the module-level functions after it (sqf_list, factor) were never shown."""
    from agent.localization import skeleton_candidates
    methods = "".join(f"    def m{i}(self, a, b):\n        return a + b + {i}\n\n" for i in range(300))
    src = "class Poly:\n" + methods + "\n\ndef sqf_list(f, *gens):\n    return f\n\n\nclass Options:\n    pass\n"
    with tool_context(tmp_path, {"polytools.py": src, "small.py": "def f():\n    pass\n"}) as ctx:
        big, small = skeleton_candidates(ctx, ["polytools.py", "small.py"], 1200)
    top, methods = big["outline"].splitlines()[-2:]
    assert top.startswith("(not shown above, 2 top-level definition(s) of polytools.py, with their lines: "
                          "sqf_list (904), Options (908)") and "m299" not in big["outline"]
    # the hidden methods are named too, in file order, up to the cap
    assert methods.startswith("(methods not shown above, ") and "Poly: m" in methods
    assert methods.count("(") - 2 == 40 and ", and " in methods and "more; view_symbol('polytools.py:CLASS.NAME')" in methods
    assert "not shown above" not in small["outline"]


def test_a_cut_skeleton_names_the_methods_of_a_long_class(tmp_path):
    """sphinx's std.py: StandardDomain's outline was cut before _resolve_numref_xref, the method
    the issue was about, and the model had to guess its name."""
    from agent.localization import skeleton_candidates
    methods = "".join(f"    def _note_{i}(self, node):\n        \"\"\"Note {i}.\"\"\"\n        return node\n\n" for i in range(30))
    src = ("class StandardDomain:\n" + methods + "    def _resolve_numref_xref(self, env, node):\n        return None\n\n"
           "    def get_fignumber(self, env, node):\n        return None\n")
    with tool_context(tmp_path, {"std.py": src}) as ctx:
        (std,) = skeleton_candidates(ctx, ["std.py"], 150)
    note = std["outline"].splitlines()[-1]
    assert note.startswith("(methods not shown above, ") and "StandardDomain: " in note
    assert "_resolve_numref_xref (" in note and "get_fignumber (" in note and "more;" not in note
    assert "top-level definition(s)" not in std["outline"]  # the class itself was shown


def test_the_note_and_the_code_reach_the_prompt(tmp_path):
    from agent.prompting import render

    with tool_context(tmp_path, {"m.py": SRC}) as ctx:
        focus = focus_code(ctx, ["m.py:long", "m.py:small"], 200)
    text = render("editing", repo_map="", focus=focus, test_command=None, localized=None)
    assert "### m.py:long (lines 5-86)\n     5 def long():" in text
    assert f"({focus[0]['note']})" in text and "### m.py:small (lines 1-2)\n     1 def small():" in text
    assert "Localization is over" not in text  # no localization requests came before


def fix(repo: Path, run_dir: Path, model, agent: AgentConfig):
    request = FixRequest(repo=str(repo), issue="add() subtracts.", model="stub", workspace="local", agent=agent,
                         limits=BudgetLimits(max_steps=20))
    with LocalWorkspace(repo) as ws:
        return run_fix(request, ws, run_dir, model=model)


def test_the_conversation_only_grows_and_says_what_it_replaces(stub_llm, tmp_path):
    repo = make_repo(tmp_path / "repo", {"pkg/__init__.py": "", "pkg/core.py": "def add(a, b):\n    return a - b\n",
                                         "pkg/other.py": "def sub(a, b):\n    return a - b\n"})
    stub_llm.reply("", calls=[("select_files", {"paths": ["pkg/core.py"]})])
    stub_llm.reply("", calls=[("select_definitions", {"names": ["pkg/core.py:add"]})])
    stub_llm.reply("", calls=[("view_file", {"path": "pkg/core.py"})])
    stub_llm.reply("Done.")
    agent = AgentConfig(baseline_tests=False, final_tests=False, max_review_rounds=0)
    fix(repo, tmp_path / "run", make_model(f"openai:gpt-4o@{stub_llm.openai_url}"), agent)
    files_req, defs_req, edit1, edit2 = (b["messages"] for b in stub_llm.bodies("openai"))
    for messages in (files_req, defs_req, edit1, edit2):
        assert messages[0]["role"] == "system"
        assert messages[1]["role"] == "user" and messages[1]["content"].startswith("Resolve the issue below.")
    assert files_req[2]["content"].startswith("Retrieval ranked these files")
    assert defs_req[2]["content"].startswith(
        "Files chosen: pkg/core.py. This request replaces the outlines of the candidate files,\n"
        "shown after the issue in the previous request, with the skeletons of the chosen files")
    context = edit1[2]["content"]
    assert context.startswith("Localization is over. Files chosen: pkg/core.py; definitions chosen: pkg/core.py:add.\n"
                              "The outlines and skeletons shown after the issue in the localization requests are "
                              "not repeated\n")
    assert "### pkg/core.py:add (lines 1-2)\n     1 def add(a, b):" in context
    assert edit2[:3] == edit1  # from here on the conversation is appended to, never rewritten
    log = [json.loads(line) for line in (tmp_path / "run" / "conversation.jsonl").read_text().splitlines()]
    assert [r["index"] for r in log] == list(range(len(log)))  # each message written once, in order
    assert [r["message"]["content"] for r in log[:3]] == [m["content"] for m in edit1]


def test_without_localization_the_context_follows_the_issue_without_a_replacement_note(stub_llm, tmp_path):
    repo = make_repo(tmp_path / "repo", {"pkg/core.py": "def add(a, b):\n    return a - b\n"})
    stub_llm.reply("Done.")
    agent = AgentConfig(localize=False, baseline_tests=False, final_tests=False, max_review_rounds=0)
    fix(repo, tmp_path / "run", make_model(f"openai:gpt-4o@{stub_llm.openai_url}"), agent)
    (messages,) = (b["messages"] for b in stub_llm.bodies("openai"))
    assert [m["role"] for m in messages] == ["system", "user", "user"]
    assert messages[1]["content"].startswith("Resolve the issue below.")
    assert "Localization is over" not in messages[2]["content"]


def test_the_task_says_where_the_issue_comes_from(stub_llm, tmp_path):
    """The prompt gave no issue number, so a changelog entry could not be named: an instance's
    reference (its repository and number) is told above the issue."""
    from harness.instance import Instance

    inst = Instance(instance_id="sympy__sympy-21379", repo="sympy/sympy", base_commit="abc")
    assert inst.reference == ("the repository sympy/sympy; SWE-bench instance sympy__sympy-21379, named after the "
                              "pull request that resolved the issue (#21379; the issue's own number may differ)")
    assert Instance(instance_id="local-task", repo="me/x", base_commit="abc").reference == "the repository me/x"
    repo = make_repo(tmp_path / "repo", {"pkg/__init__.py": "", "pkg/core.py": "def add(a, b):\n    return a - b\n"})
    stub_llm.reply("", calls=[("select_files", {"paths": ["pkg/core.py"]})])
    stub_llm.reply("", calls=[("select_definitions", {"names": ["pkg/core.py:add"]})])
    stub_llm.reply("Done.")
    request = FixRequest(repo=str(repo), issue="add() subtracts.", model="stub", workspace="local",
                         agent=AgentConfig(baseline_tests=False, final_tests=False, max_review_rounds=0),
                         limits=BudgetLimits(max_steps=20), reference=inst.reference)
    with LocalWorkspace(repo) as ws:
        run_fix(request, ws, tmp_path / "run", model=make_model(f"openai:gpt-4o@{stub_llm.openai_url}"))
    task = stub_llm.bodies("openai")[0]["messages"][1]["content"]
    assert f"It comes from {inst.reference}.\n\n<issue>\nadd() subtracts." in task
