"""CHATMEM_CHAT_MODEL: optional; when set, langchain's init_chat_model builds the model."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from domain.errors import ConfigurationError
from infra.chat_models import load_chat_model
from tests.unit.chatbot_fakes import RecordingChatModel


def test_unset_means_no_model() -> None:
    assert load_chat_model(None) is None


def test_set_without_langchain_installed_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "langchain.chat_models", None)
    with pytest.raises(ConfigurationError) as caught:
        load_chat_model("openai:gpt-4o-mini")
    assert caught.value.variable == "CHATMEM_CHAT_MODEL"
    assert "pip install" in str(caught.value)


def fake_langchain(monkeypatch: pytest.MonkeyPatch, init: Any) -> None:
    package = types.ModuleType("langchain")
    module = types.ModuleType("langchain.chat_models")
    module.init_chat_model = init  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langchain", package)
    monkeypatch.setitem(sys.modules, "langchain.chat_models", module)


def test_set_builds_the_model_init_chat_model_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    model = RecordingChatModel()

    def init(spec: str) -> RecordingChatModel:
        asked.append(spec)
        return model

    fake_langchain(monkeypatch, init)
    assert load_chat_model("anthropic:claude-x") is model
    assert asked == ["anthropic:claude-x"]


def test_an_unknown_provider_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def init(spec: str) -> None:
        raise ValueError(f"Unable to infer model provider for {spec}")

    fake_langchain(monkeypatch, init)
    with pytest.raises(ConfigurationError, match="cannot load 'nope'"):
        load_chat_model("nope")
