r"""DALL·E 1: one GPT reads the caption and then writes the picture, one image code at a time.

Ramesh et al. (2021) concatenate up to 256 BPE text tokens and the 32×32 = 1,024 codes of a
discrete VAE into one stream and train a decoder-only transformer on it. Here the caption is at
most 7 words of the scene grammar and the image is the VQ-VAE's 8×8 = 64 codes::

    position:   0   1    2      3     4     5     6  │  7     8    …   70
    token:      a  red circle <pad> <pad> <pad> <pad> │ c₀    c₁   …   c₆₃     (c = code + 26)
                └──────────── text (7) ──────────────┘ └──── image (64, raster order) ────┘

The model is the course GPT (:class:`genai_course.gpt.model.GPT`), unchanged: only its vocabulary
is the 26 words followed by the K image codes (token id = 26 + code), and its context is the 71
tokens. The paper weights the two cross-entropies, 1/8 for text and 7/8 for image (§2.2):

.. math::  L = \tfrac18\,\overline{\mathrm{CE}}_\text{text} + \tfrac78\,\overline{\mathrm{CE}}_\text{image}

each a mean over its own positions. To draw a picture, feed the caption's 7 tokens and sample 64
more with a ``logits_hook`` that allows only image codes: a word can never appear in the image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..data.scene_prompts import MAX_PROMPT_WORDS, VOCAB
from ..gpt.model import GPT, GPTConfig
from ..shape_check import expect_shape

TEXT_LENGTH = MAX_PROMPT_WORDS  # 7 caption tokens, padded
TEXT_VOCAB = len(VOCAB)  # image code k is token TEXT_VOCAB + k
GRID = 8  # the VQ-VAE's 8×8 codes
IMAGE_LENGTH = GRID * GRID
TEXT_WEIGHT = 1 / 8  # DALL·E's weight on the text loss; the image gets 7/8


def dalle_config(codebook_size: int, **overrides) -> GPTConfig:
    """The course GPT sized for 71 tokens over a vocabulary of 26 words + K codes."""
    settings = dict(
        vocab_size=TEXT_VOCAB + codebook_size,
        block_size=TEXT_LENGTH + IMAGE_LENGTH,
        n_layers=4,
        n_heads=4,
        d_model=128,
    )
    return GPTConfig(**{**settings, **overrides})


def codebook_size_of(model: GPT) -> int:
    return model.config.vocab_size - TEXT_VOCAB


def to_sequence(tokens: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
    """Caption tokens (b 7) and image codes (b 8 8) → one stream (b 71): words, then codes shifted past the words."""
    expect_shape(tokens, "b s", s=TEXT_LENGTH, name="tokens")
    expect_shape(codes, "b h w", b=len(tokens), h=GRID, w=GRID, name="codes")
    return torch.cat([tokens, codes.flatten(1) + TEXT_VOCAB], dim=1)


def dalle_loss(model: GPT, seq: torch.Tensor, text_weight: float = TEXT_WEIGHT) -> dict:
    """{"loss", "text", "image"} on a batch of streams (b 71): next-token cross-entropy, weighted per kind."""
    expect_shape(seq, "b t", t=TEXT_LENGTH + IMAGE_LENGTH, name="sequences")
    logits, _ = model(seq[:, :-1])  # (b 70 v): position i predicts token i + 1
    ce = F.cross_entropy(logits.transpose(1, 2), seq[:, 1:], reduction="none")  # (b 70)
    text = ce[:, : TEXT_LENGTH - 1].mean()  # words 1 … 6 (word 0 is given, as DALL·E's start token)
    image = ce[:, TEXT_LENGTH - 1 :].mean()  # codes 0 … 63, the first predicted from the last word
    return {"loss": text_weight * text + (1 - text_weight) * image, "text": text, "image": image}


def train_dalle(
    model: GPT,
    seqs: torch.Tensor,
    steps: int,
    batch_size: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    device="cpu",
    progress=None,
) -> dict[str, list[float]]:
    """AdamW (weight decay on matrices) on random batches of streams (n 71), warm-up then cosine decay."""
    from ..gpt.train import TrainConfig, configure_optimizer
    from ..optim import clipped_step, warmup_cosine

    gen = torch.Generator("cpu").manual_seed(seed)
    model.to(device).train()
    opt = configure_optimizer(model, TrainConfig(lr=lr, max_iters=steps))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: warmup_cosine((s + 1) / steps, 0.03, 0.1))
    history: dict[str, list[float]] = {"loss": [], "text": [], "image": []}
    it = range(steps)
    for _ in progress(it) if progress else it:
        idx = torch.randint(0, len(seqs), (batch_size,), generator=gen)
        parts = dalle_loss(model, seqs[idx].to(device))
        clipped_step(opt, parts["loss"], max_norm=1.0)
        sched.step()
        for key, value in parts.items():
            history[key].append(value.item())
    model.eval()
    return history


def row_seed(seed: int, row: int, candidate: int = 0) -> int:
    """The generator seed of one picture: prompt ``row``'s ``candidate``-th sample under ``seed``."""
    return (seed * 1_000_003 + row) * 1_009 + candidate


def gumbel_noise(seeds: list[int], vocab_size: int, device) -> torch.Tensor:
    """Gumbel(0, 1) noise (b 64 v), row i from its own CPU generator seeded with ``seeds[i]``."""
    rows = []
    for s in seeds:
        u = torch.rand(IMAGE_LENGTH, vocab_size, generator=torch.Generator("cpu").manual_seed(s))
        rows.append(-torch.log(-torch.log(u.clamp(1e-20, 1.0))))
    return torch.stack(rows).to(device)


def image_codes_hook(noise: torch.Tensor, temperature: float, top_k: int | None):
    """A ``logits_hook`` that allows only image codes and draws from softmax(logits / T) by the Gumbel-max trick.

    argmax(logits/T + g) with g ~ Gumbel(0, 1) is an exact sample of the softmax (Gumbel 1954;
    Maddison et al. 2014), so greedy decoding of the perturbed logits samples the model, with each
    picture's randomness fixed in advance by its own seed: a picture does not depend on which other
    prompts share its batch.
    """
    from ..gpt.sampling import only_tokens, top_k_filter

    allow = only_tokens(TEXT_VOCAB, noise.shape[-1])

    def hook(logits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:  # (b v), (b t) → (b v)
        logits = allow(logits, idx) / temperature
        if top_k is not None:
            logits = top_k_filter(logits, top_k)
        return logits + noise[:, idx.shape[1] - TEXT_LENGTH]

    return hook


@torch.no_grad()
def sample_codes(
    model: GPT, tokens: torch.Tensor, seeds: list[int], temperature: float = 1.0, top_k: int | None = None
) -> torch.Tensor:
    """Caption tokens (b 7) → sampled image codes (b 8 8), picture i drawn with ``seeds[i]``."""
    from ..gpt.sampling import generate

    expect_shape(tokens, "b s", s=TEXT_LENGTH, name="tokens")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(tokens), 256):  # bounded memory for long prompt lists
        noise = gumbel_noise(seeds[i : i + 256], model.config.vocab_size, device)  # (b 64 v)
        hook = image_codes_hook(noise, temperature, top_k)
        seq = generate(model, tokens[i : i + 256].to(device), IMAGE_LENGTH, temperature=0, logits_hook=hook)
        out.append(seq[:, TEXT_LENGTH:] - TEXT_VOCAB)  # (b 64) codes
    return torch.cat(out).reshape(-1, GRID, GRID)
