"""Budgets: steps, tokens, dollars and wall time, checked before every model call."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.budget import Budget, BudgetExhausted, BudgetLimits, Spent
from agent.models import Message, ModelTurn, Usage, make_model


def turn(cost: float | None = 0.0, tokens: int = 0) -> ModelTurn:
    return ModelTurn(text="", usage=Usage(input_tokens=tokens), cost=cost, model="m")


def run(budget: Budget, turns) -> int:
    """The agent loop's use of a budget: check, call, charge. Returns the calls made."""
    made = 0
    for t in turns:
        budget.check()
        made += 1
        budget.charge(t)
    return made


def test_steps():
    budget = Budget(BudgetLimits(max_steps=3))
    with pytest.raises(BudgetExhausted) as info:
        run(budget, [turn()] * 10)
    assert budget.spent.steps == 3
    assert info.value.status == "budget_exhausted" and info.value.limit == "steps"
    assert str(info.value) == "step budget exhausted: 3 of 3 model calls made"


def test_tokens_projected_from_the_last_call():
    budget = Budget(BudgetLimits(max_tokens=1000))
    with pytest.raises(BudgetExhausted, match="token budget exhausted: 900 of 1000 tokens used") as info:
        run(budget, [turn(tokens=300)] * 10)
    assert info.value.limit == "tokens" and budget.spent.tokens == 900  # a 4th call would likely pass 1000


def test_cost_cap_is_not_crossed_when_calls_cost_alike():
    budget = Budget(BudgetLimits(max_cost=4.0))
    with pytest.raises(BudgetExhausted) as info:
        run(budget, [turn(1.5)] * 10)
    assert info.value.limit == "cost" and budget.spent.steps == 2 and budget.spent.cost == 3.0
    assert str(info.value) == "cost budget exhausted: $3.0000 of $4 spent, and the last call cost $1.5000"


def test_cost_overrun_is_at_most_one_call():
    # growing calls: the one that costs more than its predecessor may pass the cap, and nothing after it
    budget = Budget(BudgetLimits(max_cost=4.0))
    with pytest.raises(BudgetExhausted):
        run(budget, [turn(1.0), turn(1.0), turn(3.0), turn(0.01)])
    assert budget.spent.steps == 3 and budget.spent.cost == 5.0  # over by less than the last call (3.0)


@settings(max_examples=300, deadline=None)
@given(costs=st.lists(st.floats(min_value=0, max_value=50, allow_nan=False), min_size=1, max_size=60),
       cap=st.floats(min_value=0.01, max_value=100))
def test_cost_overrun_bound_for_any_sequence(costs, cap):
    budget = Budget(BudgetLimits(max_cost=cap))
    made = 0
    try:
        made = run(budget, [turn(c) for c in costs])
    except BudgetExhausted:
        pass
    spent = budget.spent.cost
    if made:
        last = costs[made - 1]
        assert spent - last <= cap + 1e-9  # before the last call the cap held, so any overrun is that call's
    # and a run never starts a call once the cap is reached
    if spent >= cap and made < len(costs):
        with pytest.raises(BudgetExhausted):
            budget.check()


def test_time_with_a_fake_clock():
    now = [100.0]
    budget = Budget(BudgetLimits(max_time=60), clock=lambda: now[0])
    budget.check()
    now[0] += 59.9
    budget.check()
    now[0] += 0.1
    with pytest.raises(BudgetExhausted, match="time budget exhausted: 60 s of 60 s used") as info:
        budget.check()
    assert info.value.limit == "time"


def test_resume_keeps_counting():
    now = [0.0]
    first = Budget(BudgetLimits(max_steps=5, max_time=100), clock=lambda: now[0])
    run(first, [turn(0.5, 10)] * 3)
    now[0] = 40
    saved = json.loads(first.spent.model_dump_json())  # what a checkpoint would keep
    assert saved["steps"] == 3 and saved["elapsed"] == 40

    now[0] = 1000  # a new process, a new clock origin
    again = Budget(BudgetLimits(max_steps=5, max_time=100), spent=Spent(**saved), clock=lambda: now[0])
    assert again.spent.elapsed == 40 and again.spent.cost == 1.5
    with pytest.raises(BudgetExhausted, match="step budget"):
        run(again, [turn(0.5, 10)] * 3)
    assert again.spent.steps == 5


def test_unknown_cost_still_runs_and_warns_once(caplog):
    budget = Budget(BudgetLimits(max_cost=1.0, max_steps=4))
    with caplog.at_level(logging.WARNING, logger="agent.budget"), pytest.raises(BudgetExhausted, match="step"):
        run(budget, [turn(None, 100)] * 6)
    assert budget.spent.unpriced_steps == 4 and budget.spent.cost == 0.0 and budget.spent.tokens == 400
    assert len([r for r in caplog.records if "cannot limit" in r.getMessage()]) == 1


def test_no_limits_means_no_limit():
    assert run(Budget(), [turn(100.0, 10**6)] * 50) == 50


def test_budget_with_a_real_model_client(tmp_path):
    # a replay model whose turns cost $1.50: a $4 cap allows two calls, then the run ends cleanly
    cassette = tmp_path / "c.jsonl"
    cassette.write_text("".join(json.dumps({"text": f"step {i}", "cost": 1.5}) + "\n" for i in range(10)))
    model = make_model(f"replay:{cassette}")
    budget = Budget(BudgetLimits(max_cost=4.0))
    texts = []
    with pytest.raises(BudgetExhausted) as info:
        while True:
            budget.check()
            t = model.complete([Message.user("go")])
            budget.charge(t)
            texts.append(t.text)
    assert texts == ["step 0", "step 1"] and info.value.status == "budget_exhausted"
    assert model.remaining == 8
