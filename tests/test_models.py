"""Default model ids are current, and the one price table computes costs as documented."""

from __future__ import annotations

from typing import get_args

import pytest
import yaml
from anthropic.resources.messages.messages import DEPRECATED_MODELS
from anthropic.types.model_param import ModelParam

from dreamcli import models
from tests.support.paths import REPO

ROOT = REPO
KNOWN = {m for arg in get_args(ModelParam) for m in get_args(arg)}


@pytest.mark.parametrize("model", [models.DEFAULT_AGENT_MODEL, models.DEFAULT_GRADER_MODEL,
                                   models.DEFAULT_DREAMER_MODEL])
def test_defaults_are_known_and_not_deprecated(model: str) -> None:
    assert model in KNOWN
    assert model not in DEPRECATED_MODELS
    assert models.price_for(model) is not None


def test_sample_files_name_no_deprecated_model() -> None:
    for path in [*ROOT.glob("sample_tasks/*.yaml"), *ROOT.glob("sample_outcomes/*.yaml")]:
        data = yaml.safe_load(path.read_text()) or {}
        for key in ("model", "grader"):
            value = data.get(key)
            if isinstance(value, str):
                assert value in KNOWN and value not in DEPRECATED_MODELS, f"{path.name}: {key}={value}"


def test_cost_uses_cache_multipliers_and_batch_discount() -> None:
    usage = {"input_tokens": 1_000_000, "output_tokens": 1_000_000,
             "cache_creation_input_tokens": 1_000_000, "cache_read_input_tokens": 1_000_000}
    # sonnet: 3 in + 15 out + 3*1.25 cache write + 3*0.1 cache read
    assert models.cost_usd("claude-sonnet-5-5", usage) == pytest.approx(3 + 15 + 3.75 + 0.3)
    assert models.cost_usd("claude-sonnet-5-5", usage, batch=True) == pytest.approx((3 + 15 + 3.75 + 0.3) / 2)
    assert models.cost_usd("claude-haiku-5-5", {"input_tokens": 2_000_000}) == pytest.approx(2.0)
    assert models.cost_usd("llama3.2:local", usage) == 0.0  # unpriced local model
    assert models.cost_usd(None, usage) == 0.0
