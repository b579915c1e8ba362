"""OpenAIContentGenerator: one bounded Responses API call per variant, grounded by file_search."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

import openai

from market_ai.domain.content_ports import (
    Generation,
    GenerationError,
    GenerationRejected,
    GenerationTimeout,
)
from market_ai.domain.spend import Usage

if TYPE_CHECKING:
    from openai.types.responses import Response

    from market_ai.domain.content import Prompt
    from market_ai.domain.content_ports import CallLimits

log = logging.getLogger(__name__)

# The transport's own names for "no connection was made": nothing was sent, nothing billed.
_NOT_SENT: Final = frozenset({"ConnectError", "ConnectTimeout", "PoolTimeout"})
_REFUSALS: Final = {
    400: "provider refused the request (400)",
    401: "provider refused the key (401)",
    403: "provider refused access (403)",
    404: "provider knows no such model or route (404)",
    422: "provider refused the request (422)",
}
_BUSY: Final = frozenset({408, 409, 429})  # refused for now, before any work: retry later


def classify(error: openai.OpenAIError) -> GenerationError:
    """A fixed, classified failure: the provider's own text (which may echo the key) stays out.

    Billed or not decides the ledger: only a call that never left (no connection) or that
    the provider refused with a 4xx is released; a dropped connection, a cut-off body, an
    unreadable answer or any 5xx (a gateway may time out while the model finishes and
    bills) may have been billed, so it is counted at its worst case.
    """
    cause = type(error.__cause__).__name__
    if isinstance(error, openai.APIConnectionError) and cause in _NOT_SENT:
        return GenerationError("provider unreachable (no connection was made)")
    if isinstance(error, openai.APITimeoutError):
        return GenerationTimeout("provider gave no answer in time")
    if isinstance(error, openai.APIConnectionError):
        return GenerationError(
            "provider connection lost after the request was sent", spend_unknown=True
        )
    if isinstance(error, openai.APIStatusError):
        return _status_failure(error.status_code)
    return GenerationError("provider answer could not be read", spend_unknown=True)


def _status_failure(status: int) -> GenerationError:
    if status >= 500:  # noqa: PLR2004 - the server error class
        return GenerationError(f"provider error ({status})", spend_unknown=True)
    if status in _BUSY:
        return GenerationError(f"provider busy ({status})")
    return GenerationRejected(_REFUSALS.get(status, f"provider refused the request ({status})"))


def create_client(api_key: str, base_url: str | None, timeout_seconds: float) -> openai.AsyncOpenAI:
    """The SDK client with its retries off: a retry is a new job attempt, reserved anew.

    The SDK would otherwise retry 429/5xx/timeouts inside one call (twice by default),
    spending up to three times what one reservation holds without anyone seeing it.
    """
    return openai.AsyncOpenAI(
        api_key=api_key, base_url=base_url, timeout=timeout_seconds, max_retries=0
    )


def usage_of(response: Response) -> Usage:
    """Token counts from `usage`, and the file_search calls counted from the output items."""
    calls = sum(1 for item in response.output if item.type == "file_search_call")
    usage = response.usage
    if usage is None:
        return Usage(tool_calls=calls)
    # The details are typed as required but older servers and proxies may leave them out.
    cached = getattr(usage.input_tokens_details, "cached_tokens", None) or 0
    reasoning = getattr(usage.output_tokens_details, "reasoning_tokens", None) or 0
    return Usage(
        input_tokens=usage.input_tokens,
        cached_tokens=cached,
        output_tokens=usage.output_tokens,
        reasoning_tokens=reasoning,
        tool_calls=calls,
    )


def cited_files(response: Response) -> tuple[str, ...]:
    """File ids the answer cites (file_citation annotations), in order, each once."""
    seen: dict[str, None] = {}
    for item in response.output:
        if item.type != "message":
            continue
        for part in item.content:
            for note in getattr(part, "annotations", None) or ():
                if note.type == "file_citation":
                    seen.setdefault(note.file_id, None)
    return tuple(seen)


class OpenAIContentGenerator:
    """Responses API: `max_output_tokens` and `max_tool_calls` on every call, no SDK retries."""

    def __init__(self, client: openai.AsyncOpenAI) -> None:
        self._client = client

    @property
    def priced(self) -> bool:
        """Every call costs money: estimated, reserved and settled by the caller."""
        return True

    async def generate(self, prompt: Prompt, limits: CallLimits) -> Generation:
        """One call; errors become GenerationError subclasses the job knows how to treat."""
        options: dict[str, Any] = {}
        if limits.vector_store_id is not None:
            options["tools"] = [
                {
                    "type": "file_search",
                    "vector_store_ids": [limits.vector_store_id],
                    "max_num_results": limits.max_results,
                }
            ]
            options["include"] = ["file_search_call.results"]
        try:
            response = await self._client.responses.create(
                model=limits.model,
                instructions=prompt.instructions,
                input=prompt.input,
                max_output_tokens=limits.max_output_tokens,
                max_tool_calls=limits.max_tool_calls,
                store=False,
                **options,
            )
        except openai.OpenAIError as error:
            failure = classify(error)
            log.warning(
                "openai.call_failed %s: %s (%s)",
                failure,
                type(error).__name__,
                self._scrub(str(error)),
            )
            raise failure from None  # the SDK's error may quote the key: never chained
        usage = usage_of(response)
        text = self._scrub(response.output_text.strip())
        if not text:
            raise _empty(response, usage, limits)
        return Generation(
            text=text, model=response.model, usage=usage, cited_file_ids=cited_files(response)
        )

    def _scrub(self, text: str) -> str:
        """The provider's text without our key (a gateway may echo it back)."""
        key = self._client.api_key
        return text.replace(key, "***") if len(key) >= 4 else text  # noqa: PLR2004

    async def aclose(self) -> None:
        """Close the HTTP pool."""
        await self._client.close()


def _empty(response: Response, usage: Usage, limits: CallLimits) -> GenerationError:
    """No text: billed all the same. Out of output budget (all of it reasoning) is permanent.

    Asking again with the same cap buys the same empty answer, so that failure is not
    retried; any other empty answer may be retried (the request's ceiling bounds them).
    """
    status = response.status or "unknown"
    details = response.incomplete_details
    if details is not None and details.reason == "max_output_tokens":
        message = (
            f"the model spent its whole output cap ({limits.max_output_tokens} tokens, "
            f"{usage.reasoning_tokens} of them reasoning) without an answer: raise "
            "OPENAI_MAX_OUTPUT_TOKENS or choose a model that reasons less"
        )
        return GenerationError(message, usage=usage, retryable=False)
    return GenerationError(f"the response ({status}) has no text", usage=usage)
