"""Step 1 of InstructGPT: supervised fine-tuning on demonstrations.

The loss is the ordinary next-token cross-entropy, but only on the **response** tokens: the
model should learn to answer, not to write prompts.

$$\\mathcal{L}_{\\text{SFT}} = -\\frac{1}{\\sum m_t}\\sum_t m_t \\log \\pi_\\theta(y_t \\mid x, y_{<t})$$
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

from ..gpt.model import GPT
from ..utils import progress
from .encoding import encode_prompts, encode_responses
from .policy import optimizer_step, response_logprobs
from .tasks import Instruction, demonstrate


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` over the positions where ``mask`` is 1 (same shape)."""
    if x.shape != mask.shape:
        raise ValueError(f"x and mask must have the same shape, got {tuple(x.shape)} and {tuple(mask.shape)}")
    total = mask.sum()
    if total == 0:
        raise ValueError("masked_mean over an all-zero mask: no response tokens in the batch")
    return (x * mask).sum() / total


def sft_loss(model: GPT, prompts: torch.Tensor, responses: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood (nats per token) of the response tokens."""
    return -masked_mean(response_logprobs(model, prompts, responses), mask)


def response_loss_mask(prompt_len: int, response_lens: torch.Tensor, n_targets: int) -> torch.Tensor:
    """Loss mask (b n) over the *targets* of a concatenated sequence ``full = [prompt | response]``.

    The model reads ``full[:, :-1]`` and predicts ``targets = full[:, 1:]``, so target ``j`` is
    token ``j + 1``: the response's ``L`` tokens (its characters and the END newline) are targets
    ``prompt_len - 1`` … ``prompt_len + L - 2``. Everything else is 0: the prompt, and the padding
    after END.
    """
    if response_lens.dim() != 1:
        raise ValueError(f"response_lens must be (b,), got shape {tuple(response_lens.shape)}")
    if prompt_len < 1 or int(response_lens.max()) > n_targets - prompt_len + 1:
        raise ValueError(
            f"need prompt_len ≥ 1 and every response length ≤ n_targets − prompt_len + 1 = "
            f"{n_targets - prompt_len + 1}, got prompt_len {prompt_len}, lengths up to {int(response_lens.max())}"
        )
    j = torch.arange(n_targets, device=response_lens.device)  # (n)
    first = prompt_len - 1  # the target that is the response's first token
    return ((j >= first) & (j < first + response_lens[:, None])).float()  # (b n)


def response_only_loss(
    logits: torch.Tensor, targets: torch.Tensor, prompt_len: int, response_lens: torch.Tensor
) -> torch.Tensor:
    """SFT loss on the concatenated sequence: mean NLL over the response tokens of the whole batch.

    logits (b n v) predict targets (b n) = ``full[:, 1:]``; ``prompt_len`` tokens of ``full`` are
    prompt, then each row has ``response_lens`` (b,) response tokens, then padding. Same number as
    :func:`sft_loss`, which takes prompts and responses apart.
    """
    if logits.dim() != 3 or logits.shape[:2] != targets.shape:
        raise ValueError(f"logits must be (b n v) and targets (b n), got {tuple(logits.shape)}, {tuple(targets.shape)}")
    mask = response_loss_mask(prompt_len, response_lens, targets.shape[1])
    nll = -torch.log_softmax(logits.float(), -1).gather(-1, targets[..., None])[..., 0]  # (b n)
    return masked_mean(nll, mask)  # Σ m_t ℓ_t / Σ m_t over the batch: every response token weighs the same


@dataclass
class SFTConfig:
    steps: int = 600
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0


def make_demonstrations(instructions: list[Instruction], seed: int) -> list[str]:
    rng = random.Random(seed)
    return [demonstrate(i, rng) for i in instructions]


def train_sft(
    model: GPT, tokenizer, instructions: list[Instruction], demonstrations: list[str], cfg: SFTConfig, device="cpu"
) -> list[float]:
    """Fine-tune ``model`` in place on (instruction, demonstration) pairs → loss per step."""
    if len(instructions) != len(demonstrations) or not instructions:
        raise ValueError(
            f"need as many demonstrations as instructions (≥ 1), got {len(instructions)} "
            f"instructions and {len(demonstrations)} demonstrations"
        )
    prompts = encode_prompts(tokenizer, instructions, device)
    responses, mask = encode_responses(tokenizer, demonstrations, device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    gen = torch.Generator("cpu").manual_seed(cfg.seed)
    model.train()
    losses = []
    for step in progress(range(cfg.steps), desc="SFT"):
        lr = cfg.lr * min(1.0, (step + 1) / 20) * (0.1 + 0.9 * (1 - step / cfg.steps))  # warm up, decay
        for group in opt.param_groups:
            group["lr"] = lr
        rows = torch.randint(len(instructions), (cfg.batch_size,), generator=gen).to(device)
        loss = sft_loss(model, prompts[rows], responses[rows], mask[rows])
        optimizer_step(opt, loss, model.parameters())
        losses.append(loss.item())
    model.eval()
    return losses
