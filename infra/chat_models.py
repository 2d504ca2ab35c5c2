"""The chat model the assistants may word their replies with, named in CHATMEM_CHAT_MODEL.

Optional: unset, the assistants answer from their rules, offline. Set, it is
any chat model LangChain's init_chat_model knows ("openai:gpt-4o-mini",
"anthropic:claude-3-5-haiku-latest", "ollama:llama3.1", ...); langchain and the
provider's package are imported only then, never at module load.
"""

from __future__ import annotations

import importlib

from langchain_core.language_models import BaseChatModel

from domain.errors import ConfigurationError

VARIABLE = "CHATMEM_CHAT_MODEL"


def load_chat_model(spec: str | None) -> BaseChatModel | None:
    """The chat model ``spec`` names, or None when unset."""
    if spec is None:
        return None
    try:
        chat_models = importlib.import_module("langchain.chat_models")
    except ImportError:
        raise ConfigurationError(
            VARIABLE,
            f"{spec!r} needs the langchain package and its provider's "
            "(pip install 'chatmem[llm]' langchain-<provider>); unset it to answer without a model",
        ) from None
    try:
        model = chat_models.init_chat_model(spec)
    except (ImportError, ValueError) as exc:
        raise ConfigurationError(VARIABLE, f"cannot load {spec!r}: {exc}") from None
    if not isinstance(model, BaseChatModel):
        raise ConfigurationError(VARIABLE, f"{spec!r} is not a chat model")
    return model
