"""Log-probabilities of responses and sampling them: the pieces SFT, PPO and DPO share."""

from __future__ import annotations

import torch

from ..gpt.model import GPT
from ..gpt.sampling import generate
from .encoding import MAX_RESPONSE, decode_responses, encode_prompts, response_mask
from .tasks import Instruction


def _check_pair(prompts: torch.Tensor, responses: torch.Tensor) -> None:
    if prompts.dim() != 2 or responses.dim() != 2 or prompts.shape[0] != responses.shape[0]:
        raise ValueError(
            f"prompts (b p) and responses (b r) must be 2-D with the same batch size, "
            f"got {tuple(prompts.shape)} and {tuple(responses.shape)}"
        )
    if prompts.shape[0] == 0:
        raise ValueError("empty batch: prompts and responses have 0 rows")


def response_logits(model: GPT, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """Logits (b r v) that predict each response token from everything before it."""
    _check_pair(prompts, responses)
    full = torch.cat([prompts, responses], dim=1)  # (b p+r)
    logits, _ = model(full[:, :-1])
    return logits[:, prompts.shape[1] - 1 :]  # position p-1 predicts the first response token


def token_logprobs(logits: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """log π(token) (b r) of the given response tokens under logits (b r v)."""
    return logits.log_softmax(-1).gather(-1, responses[..., None])[..., 0]


def response_logprobs(model: GPT, prompts: torch.Tensor, responses: torch.Tensor) -> torch.Tensor:
    """log π(y_t | x, y_<t) for every response position (b r); mask it before summing."""
    return token_logprobs(response_logits(model, prompts, responses), responses)


def sample_responses(
    model: GPT,
    tokenizer,
    instructions: list[Instruction],
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
    device="cpu",
):
    """Sample one response per instruction → (prompts (b p), ids (b r), mask (b r), texts)."""
    prompts = encode_prompts(tokenizer, instructions, device)
    full = generate(model, prompts, MAX_RESPONSE, temperature=temperature, generator=generator)
    ids = full[:, prompts.shape[1] :]
    return prompts, ids, response_mask(tokenizer, ids), decode_responses(tokenizer, ids)


def optimizer_step(
    optimizer: torch.optim.Optimizer, loss: torch.Tensor, parameters, max_grad_norm: float = 1.0
) -> None:
    """One gradient step on ``loss``, with the global gradient norm clipped (every RLHF trainer here uses it)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm)
    optimizer.step()
