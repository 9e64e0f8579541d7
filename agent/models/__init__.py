"""Model clients behind one interface (ModelClient), named by spec strings.

    from agent.models import Message, make_model
    model = make_model("anthropic:claude-sonnet-5-5")
    turn = model.complete([Message.system("..."), Message.user("...", cache=True)], tools)
    turn.text, turn.tool_calls, turn.usage, turn.cost

See docs/models.md.
"""

from .base import ModelClient, ModelOptions
from .errors import (
    MissingAPIKey,
    ModelError,
    ModelSetupError,
    ReplayExhausted,
    RetriesExhausted,
    TransientError,
)
from .prices import Price, PriceTable, default_prices
from .registry import PROVIDERS, StandIn, make_model, model_label, parse_spec, register_provider, stand_in
from .retry import RetryPolicy
from .toolcalls import validate_tool_calls
from .types import Message, ModelTurn, ToolCall, Usage

__all__ = [
    "PROVIDERS", "MissingAPIKey", "Message", "ModelClient", "ModelError", "ModelOptions", "ModelSetupError", "ModelTurn", "Price",
    "PriceTable", "ReplayExhausted", "RetriesExhausted", "RetryPolicy", "StandIn", "ToolCall", "TransientError",
    "Usage", "default_prices", "make_model", "model_label", "parse_spec", "register_provider", "stand_in",
    "validate_tool_calls",
]
