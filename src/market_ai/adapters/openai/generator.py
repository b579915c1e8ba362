"""OpenAIContentGenerator: one bounded Responses API call per variant, grounded by file_search."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
        except openai.APITimeoutError as error:
            raise GenerationTimeout(f"no answer within the timeout: {error}") from error
        except openai.APIConnectionError as error:
            raise GenerationError(f"cannot reach the model provider: {error}") from error
        except (openai.RateLimitError, openai.InternalServerError, openai.ConflictError) as error:
            raise GenerationError(f"model provider busy ({error.status_code})") from error
        except openai.APIStatusError as error:
            raise GenerationRejected(f"HTTP {error.status_code}: {error.message}") from error
        usage = usage_of(response)
        text = response.output_text.strip()
        if not text:
            status = response.status or "unknown"
            raise GenerationError(f"the response ({status}) has no text", usage=usage)
        return Generation(
            text=text, model=response.model, usage=usage, cited_file_ids=cited_files(response)
        )

    async def aclose(self) -> None:
        """Close the HTTP pool."""
        await self._client.close()
