"""Prompts and responses as fixed-width token tensors.

Every prompt is ``Q: <instruction>\\nA: `` left-padded with spaces to :data:`PROMPT_WIDTH`
characters, so a batch of prompts is one (b p) tensor and a whole batch of responses can be
generated in lockstep. A response ends with a newline, the end-of-response token; the
positions after it are padding, and a (b r) mask marks the tokens that belong to a response
(its characters and the newline that ends it).
"""

from __future__ import annotations

import torch

from .tasks import Instruction

PROMPT_WIDTH = 28
MAX_RESPONSE = 24  # tokens, including the end-of-response newline
END = "\n"


def prompt_text(instruction: Instruction) -> str:
    text = f"Q: {instruction.text}{END}A: "
    if len(text) > PROMPT_WIDTH:
        raise ValueError(f"prompt {text!r} is longer than PROMPT_WIDTH={PROMPT_WIDTH}")
    return text.rjust(PROMPT_WIDTH)


def encode_prompts(tokenizer, instructions: list[Instruction], device="cpu") -> torch.Tensor:
    """→ (b p) token ids, p = PROMPT_WIDTH."""
    if not instructions:
        raise ValueError("encode_prompts needs at least one instruction, got an empty list")
    return torch.tensor([tokenizer.encode(prompt_text(i)) for i in instructions], device=device)


def encode_responses(tokenizer, responses: list[str], device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Response strings → ids (b r) and mask (b r); each response gets its END token, and one
    longer than MAX_RESPONSE − 1 characters is cut (a cut response has no END)."""
    if not responses:
        raise ValueError("encode_responses needs at least one response, got an empty list")
    end = tokenizer.encode(END)[0]
    ids = torch.full((len(responses), MAX_RESPONSE), end, dtype=torch.long)
    mask = torch.zeros(len(responses), MAX_RESPONSE)
    for row, text in enumerate(responses):
        tokens = (tokenizer.encode(text) + [end])[:MAX_RESPONSE]
        ids[row, : len(tokens)] = torch.tensor(tokens)
        mask[row, : len(tokens)] = 1
    return ids.to(device), mask.to(device)


def response_mask(tokenizer, ids: torch.Tensor) -> torch.Tensor:
    """(b r) generated ids → (b r) mask: 1 up to and including the first END, 0 after it."""
    end = tokenizer.encode(END)[0]
    is_end = (ids == end).float()
    ended_before = torch.cumsum(is_end, dim=1) - is_end  # how many ENDs strictly before each position
    return (ended_before == 0).float()


def decode_responses(tokenizer, ids: torch.Tensor) -> list[str]:
    """(b r) generated ids → the response strings (text before the first END)."""
    return [tokenizer.decode(row.tolist()).split(END)[0] for row in ids.cpu()]
