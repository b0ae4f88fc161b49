"""The Settings tab's connection test: ask the endpoint for its models (``/v1/models``), once,
briefly, and say what answered or what failed and why, naming where the endpoint was set."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from assistant import SESSION_ORIGIN, ChatModel, LLMError, LLMSettings, endpoint_origin

TIMEOUT_S = 5.0  # a test waits this long for an answer (no retries): a dead endpoint fails fast


@dataclass(frozen=True)
class Checked:
    ok: bool
    message: str  # markdown


def endpoint(
    configured: LLMSettings, session: LLMSettings | None, base_url: str, model: str, api_key: str
) -> tuple[LLMSettings | None, str | None]:
    """The endpoint a test is about, and where it was set: the form's URL when one is typed
    (what *Use for this session* would apply), else this session's, else the configured one."""
    base_url, model, api_key = base_url.strip(), model.strip(), api_key.strip()
    if base_url:
        return configured.model_copy(
            update={
                "base_url": base_url,
                "model": model or configured.model,
                "api_key": SecretStr(api_key) if api_key else None,
                "mode": "auto",
            }
        ), SESSION_ORIGIN
    if session is not None:
        return (None if session.mode == "extractive" or not session.base_url else session), SESSION_ORIGIN
    if configured.mode == "extractive" or not configured.base_url:
        return None, None
    return configured, endpoint_origin(configured)


def check(llm: LLMSettings | None, origin: str | None, *, timeout: float = TIMEOUT_S) -> Checked:
    """List the endpoint's models; say whether the chosen model is among them."""
    if llm is None or not llm.base_url:
        return Checked(True, "No endpoint to test: answers are extractive (no language model).")
    set_where = f" (set in {origin})" if origin else ""
    shown = llm.shown_url
    chat = ChatModel(
        base_url=llm.base_url,
        model=llm.model,
        api_key=llm.api_key.get_secret_value() if llm.api_key else None,
        timeout=timeout,
        max_retries=0,
        origin=origin,
    )
    try:
        models = chat.list_models()
    except LLMError as e:
        return Checked(False, f"❌ **Connection failed** to `{shown}`{set_where}: {e}.")
    except Exception as e:  # an endpoint that answers something else entirely
        return Checked(False, f"❌ **Connection failed** to `{shown}`{set_where}: {type(e).__name__}: {e}.")
    listed = ", ".join(f"`{m}`" for m in models[:20]) + (" …" if len(models) > 20 else "")
    line = f"✅ **`{shown}` answers**{set_where}: {len(models)} model(s): {listed or 'none listed'}."
    if models and llm.model not in models:
        return Checked(
            False,
            line + f"\n\n⚠️ The model `{llm.model}` is not among them: answers will fail until the model "
            "is one of these.",
        )
    return Checked(True, line + (f" `{llm.model}` is among them." if models else ""))
