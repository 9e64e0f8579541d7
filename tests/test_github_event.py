"""Which events the bot acts on, and the one line it gives for each one it ignores."""

from __future__ import annotations

import json

import pytest
from github_scenario import REPO, commented, labeled

from github_bot.event import Ignored, Trigger, TriggerConfig, decide, event_name_of, load_event
from sandbox.errors import UserError

CONFIG = TriggerConfig()


def test_the_trigger_label_acts_on_the_issue():
    assert decide(labeled(7), CONFIG, "issues") == Trigger(repo=REPO, issue=7, actor="maintainer", via="label",
                                                           title="(title)")
    # GitHub compares labels case-insensitively; so do we
    assert isinstance(decide(labeled(7, "PatchWright"), CONFIG, "issues"), Trigger)


@pytest.mark.parametrize("association", ["OWNER", "MEMBER", "COLLABORATOR"])
def test_the_trigger_comment_by_a_trusted_author_acts(association):
    d = decide(commented(3, "/patchwright fix\nplease look at the edge case", association), CONFIG, "issue_comment")
    assert d == Trigger(repo=REPO, issue=3, actor="carol", via="comment", title="(title)")


@pytest.mark.parametrize("payload,name,reason", [
    (labeled(7, "bug"), "issues", "label 'bug' is not the trigger label 'patchwright'"),
    ({**labeled(7), "action": "opened"}, "issues", "issue #7 was opened, not labeled"),
    (commented(3, "/patchwright fix", "NONE"), "issue_comment",
     "@carol's association NONE is not one of OWNER,MEMBER,COLLABORATOR"),
    (commented(3, "/patchwright fix", "CONTRIBUTOR"), "issue_comment",
     "@carol's association CONTRIBUTOR is not one of OWNER,MEMBER,COLLABORATOR"),
    (commented(3, "/patchwright fix", on_pull=True), "issue_comment", "#3 is a pull request, not an issue"),
    (commented(3, "/patchwright fix", user="github-actions[bot]", user_type="Bot"), "issue_comment",
     "the comment is from a bot (@github-actions[bot])"),
    (commented(3, "<!-- patchwright -->\nComment `/patchwright fix` to retry", "OWNER"), "issue_comment",
     "the comment is from a bot (@carol)"),
    (commented(3, "looks good; /patchwright fix later"), "issue_comment",
     "the comment does not start with '/patchwright fix'"),
    (commented(3, "/patchwright fixed it myself"), "issue_comment",
     "the comment does not start with '/patchwright fix'"),
    (commented(3, "/patchwright fix", action="edited"), "issue_comment", "a comment was edited, not created"),
    ({**labeled(7), "issue": {**labeled(7)["issue"], "state": "closed"}}, "issues", "issue #7 is closed"),
    ({"action": "opened", "pull_request": {"head": {"repo": {"full_name": "mallory/calc"}}},
      "repository": {"full_name": REPO}}, "pull_request_target",
     "the workflow was triggered from a fork (mallory/calc); forks get no run"),
    ({"action": "opened", "pull_request": {"head": {"repo": {"full_name": REPO}}},
      "repository": {"full_name": REPO}}, "pull_request", "unsupported event `pull_request`"),
    ({"ref": "refs/heads/main", "repository": {"full_name": REPO}}, "push", "unsupported event `push`"),
])
def test_events_it_does_not_act_on_are_ignored_with_a_reason(payload, name, reason):
    d = decide(payload, CONFIG, name)
    assert isinstance(d, Ignored)
    assert d.reason.startswith(reason) and "\n" not in d.reason


def test_settings_change_what_triggers():
    config = TriggerConfig(label="fix-me", comment="@bot fix", allowed_associations=["owner"])
    assert isinstance(decide(labeled(1, "fix-me"), config, "issues"), Trigger)
    assert isinstance(decide(labeled(1, "patchwright"), config, "issues"), Ignored)
    assert isinstance(decide(commented(1, "@bot fix", "OWNER"), config, "issue_comment"), Trigger)
    assert isinstance(decide(commented(1, "@bot fix", "MEMBER"), config, "issue_comment"), Ignored)


def test_the_event_name_is_inferred_when_not_given():
    assert event_name_of(labeled(1)) == "issues"
    assert event_name_of(commented(1, "x")) == "issue_comment"
    assert isinstance(decide(commented(1, "/patchwright fix", "OWNER"), CONFIG), Trigger)


def test_bad_event_files_are_one_line_errors(tmp_path):
    with pytest.raises(UserError, match="no such event file"):
        load_event(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(UserError, match="is not JSON"):
        load_event(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(UserError, match="does not hold a JSON object"):
        load_event(tmp_path / "list.json")
    (tmp_path / "ok.json").write_text(json.dumps(labeled(2)))
    assert load_event(tmp_path / "ok.json")["issue"]["number"] == 2
    with pytest.raises(UserError, match="no repository or issue number"):
        decide({"action": "labeled", "issue": {}}, CONFIG, "issues")
