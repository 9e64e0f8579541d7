"""Prompt templates render with StrictUndefined: a missing variable is an error, not a blank."""

from __future__ import annotations

import pytest

from agent.prompting import PROMPTS_DIR, PromptError, render


@pytest.fixture
def templates(tmp_path):
    (tmp_path / "task.j2").write_text(
        "{# variables: issue (str), files (list of str) #}\n"
        "Issue:\n{{ issue }}\n{% for f in files %}\n- {{ f }}\n{% endfor %}\n")
    (tmp_path / "broken.j2").write_text("{% for x in %}\n")
    return tmp_path


def test_render(templates):
    text = render("task", template_dir=templates, issue="add() is wrong", files=["a.py", "b.py"])
    assert text == "Issue:\nadd() is wrong\n- a.py\n- b.py\n"  # the comment and block lines leave no blanks
    assert render("task.j2", template_dir=templates, issue="x", files=[]) == "Issue:\nx\n"


def test_missing_variable_is_an_error(templates):
    with pytest.raises(PromptError) as info:
        render("task", template_dir=templates, issue="x")
    assert str(info.value) == "prompt template task.j2: 'files' is undefined; pass it to render()"


def test_missing_and_broken_templates(templates):
    with pytest.raises(PromptError, match="prompt template nope.j2 not found in"):
        render("nope", template_dir=templates)
    with pytest.raises(PromptError, match="prompt template broken.j2 line 1: "):
        render("broken", template_dir=templates)


def test_default_directory_is_the_prompts_package():
    assert (PROMPTS_DIR / "__init__.py").is_file()
    with pytest.raises(PromptError, match=r"not found in .*prompts"):
        render("no-such-template")
