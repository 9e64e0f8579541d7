"""The trajectory: appended and synced after every step; a crash loses at most one step."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agent.models import Message, ModelTurn, ToolCall, Usage
from agent.trajectory import Observation, TrajectoryWriter, read_trajectory
from sandbox.errors import UserError
from tools.registry import ToolSpec

VIEW = ToolSpec("view_file", "Show a file.", {"type": "object", "properties": {"path": {"type": "string"}}})


def test_steps_round_trip(tmp_path):
    path = tmp_path / "run" / "trajectory.jsonl"
    now = [10.0]
    call = ToolCall("c1", "view_file", {"path": "a.py"})
    turn = ModelTurn("Let me look.", [call], Usage(1200, 30, 1000, 0), cost=0.0042, model="gpt-4o",
                     stop_reason="tool_calls", attempts=2, duration=1.25)
    msgs = [Message.system("sys"), Message.user("x" * 2000)]
    with TrajectoryWriter(path, clock=lambda: now[0]) as traj:
        traj.write("index", files=120)
        now[0] += 2.5
        step = traj.write("edit", messages=msgs, tools=[VIEW], turn=turn, duration=1.3,
                          observations=[Observation.of(Message.tool(call, "1 import os"))])
    assert step.step == 1 and step.elapsed == 2.5

    first, second = read_trajectory(path)
    assert (first.step, first.node, first.data, first.request, first.response) == (0, "index", {"files": 120}, None, None)
    assert second.node == "edit" and second.duration == 1.3 and second.cost == 0.0042
    assert second.request == {"messages": 2, "chars": 2003, "tools": ["view_file"],
                              "last": {"role": "user", "content": "x" * 500}}
    assert second.response["tool_calls"] == [call.to_dict()] and second.response["attempts"] == 2
    assert second.usage == {"input_tokens": 1200, "output_tokens": 30, "cache_read_tokens": 1000,
                            "cache_write_tokens": 0}
    assert second.observations == [Observation(tool_call_id="c1", name="view_file", output="1 import os")]
    assert second.time.endswith("+00:00")
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line)["node"] for line in lines)


def test_torn_last_line_is_skipped_then_cut_on_reopen(tmp_path):
    path = tmp_path / "t.jsonl"
    with TrajectoryWriter(path) as traj:
        traj.write("localize")
        traj.write("edit")
    with path.open("a") as f:
        f.write('{"step": 2, "node": "te')  # a crash in the middle of a write
    assert [s.node for s in read_trajectory(path)] == ["localize", "edit"]

    with TrajectoryWriter(path) as traj:  # a resumed run
        assert traj.next_step == 2
        traj.write("test")
    assert [(s.step, s.node) for s in read_trajectory(path)] == [(0, "localize"), (1, "edit"), (2, "test")]


def test_resume_continues_elapsed_time(tmp_path):
    path = tmp_path / "t.jsonl"
    now = [0.0]
    with TrajectoryWriter(path, clock=lambda: now[0]) as traj:
        now[0] = 30.0
        traj.write("edit")
    now[0] = 5000.0  # another process
    with TrajectoryWriter(path, clock=lambda: now[0]) as traj:
        now[0] = 5010.0
        assert traj.write("test").elapsed == 40.0


def test_a_malformed_line_in_the_middle_is_an_error(tmp_path):
    path = tmp_path / "t.jsonl"
    with TrajectoryWriter(path) as traj:
        traj.write("a")
    good = path.read_text()
    path.write_text(good + "garbage\n" + good)
    with pytest.raises(UserError, match=r"t.jsonl line 2 is malformed"):
        read_trajectory(path)
    with pytest.raises(UserError, match=r"line 2 is malformed"):
        TrajectoryWriter(path)  # a resume refuses to append to a damaged file


def test_reading_a_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="cannot read trajectory"):
        read_trajectory(tmp_path / "none.jsonl")


def test_a_killed_writer_loses_at_most_the_step_in_flight(tmp_path):
    """A child writes steps as fast as it can and reports each one after write() returns; killed
    with SIGKILL, every step it reported is in the file, intact."""
    path = tmp_path / "t.jsonl"
    child = textwrap.dedent(f"""
        import sys
        from agent.trajectory import TrajectoryWriter
        traj = TrajectoryWriter({str(path)!r})
        i = 0
        while True:
            traj.write("edit", note="x" * 5000, i=i)
            print(i, flush=True)
            i += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    acknowledged = -1
    try:
        for line in proc.stdout:
            acknowledged = int(line)
            if acknowledged >= 40:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    steps = read_trajectory(path)
    assert acknowledged >= 40
    assert [s.data["i"] for s in steps[: acknowledged + 1]] == list(range(acknowledged + 1))
    assert all(s.data["note"] == "x" * 5000 for s in steps)
    with TrajectoryWriter(path) as traj:
        assert traj.write("resumed").step == len(steps)
