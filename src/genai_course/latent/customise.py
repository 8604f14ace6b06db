"""Teaching the trained text-to-image model a new word from a handful of pictures (notebook 6).

The new concept is a colour the model has never drawn nor read: **copper**, an orange halfway
in hue between red and yellow. The autoencoder, which learned images without captions, already
reconstructs orange shapes; what is missing is a word for it and a denoiser that draws it.

Two ways to add it, both keeping the 1.9M pretrained weights frozen:

- **Textual inversion** (Gal et al., 2023): the word gets a new row in the token embedding, and
  only that vector (64 numbers) is trained. It can only find a point in the text encoder's input
  space that the frozen model already turns into something; it cannot teach the U-Net to paint.
- **LoRA** (Hu et al., 2021) on the cross-attention projections (:mod:`.lora`): the word gets a
  fixed new vector, and low-rank updates of the projections where text meets image learn what it
  should do. The update can change how the U-Net draws, at the risk of changing old words too.

The training loss is the model's own (noise prediction with 10 % caption dropout) on the few
images of the concept, nothing else.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..data.scene_prompts import MAX_PROMPT_WORDS, PAD, TOKEN_ID, VOCAB, parse_prompt, render_prompt

NEW_WORD = "copper"
NEW_COLOUR = {NEW_WORD: (0.95, 0.44, 0.12)}  # 17° in hue from red and from yellow; the judge needs ≥ 14°


class ExtendedEmbedding(nn.Module):
    """A frozen token embedding plus trainable rows for new words: ids ≥ the old vocabulary size
    index ``new`` (k d). Old words embed exactly as before."""

    def __init__(self, base: nn.Embedding, new_vectors: torch.Tensor):
        super().__init__()
        self.base = base.requires_grad_(False)
        self.new = nn.Parameter(new_vectors.detach().clone().reshape(-1, base.embedding_dim))  # (k d)

    @property
    def num_embeddings(self) -> int:
        return self.base.num_embeddings + len(self.new)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (b s) → (b s d)."""
        n = self.base.num_embeddings
        old = self.base(tokens.clamp(max=n - 1))  # (b s d)
        new = self.new[(tokens - n).clamp(min=0, max=len(self.new) - 1)]  # (b s d)
        return torch.where((tokens >= n)[..., None], new, old)


def add_word(denoiser, init: torch.Tensor) -> int:
    """Give ``denoiser``'s text encoder one new token whose embedding starts at ``init`` (d,); returns its id."""
    encoder = denoiser.text_encoder
    if isinstance(encoder.tokens, ExtendedEmbedding):
        raise ValueError("this text encoder already has a new word")
    encoder.tokens = ExtendedEmbedding(encoder.tokens, init[None])
    return encoder.tokens.base.num_embeddings


INITIAL_WORD = "red"  # the coarse descriptor the new word starts from, as textual inversion does


def initial_vector(denoiser, word: str = INITIAL_WORD) -> torch.Tensor:
    """The new word's starting embedding (d,): a copy of an existing word's (copper starts as "red")."""
    return _embedding_table(denoiser)[TOKEN_ID[word]].clone()


def _embedding_table(denoiser) -> torch.Tensor:
    """The grammar's word embeddings (v d), with or without a new word added."""
    tokens = denoiser.text_encoder.tokens
    return (tokens.base if isinstance(tokens, ExtendedEmbedding) else tokens).weight.detach()


def tokenize_with_word(prompts: list[str], word: str = NEW_WORD, token_id: int = len(VOCAB)) -> torch.Tensor:
    """Token ids (b s) of prompts that may use ``word`` (call inside ``extra_colours``, so the grammar
    accepts it): the grammar's ids for the other words, ``token_id`` for the new one."""
    rows = []
    for prompt in prompts:
        words = render_prompt(parse_prompt(prompt)).split()
        ids = [token_id if w == word else TOKEN_ID[w] for w in words]
        rows.append(ids + [TOKEN_ID[PAD]] * (MAX_PROMPT_WORDS - len(ids)))
    return torch.tensor(rows, dtype=torch.long)


def concept_prompts(n: int | None = None, seed: int = 0) -> list[str]:
    """Prompts of the grammar that name the new colour (63 in all), or ``n`` of them drawn at random."""
    from ..data.scene_prompts import all_specs
    from ..data.shapes import extra_colours

    with extra_colours(NEW_COLOUR):
        prompts = [render_prompt(s) for s in all_specs() if s.colour == NEW_WORD]
    if n is None:
        return prompts
    rng = np.random.RandomState(seed)
    return [prompts[i] for i in rng.choice(len(prompts), size=n, replace=False)]


def concept_images(prompts: list[str], seed: int = 0) -> torch.Tensor:
    """One drawn scene per prompt (b 3 32 32) in [0, 1]: the handful of pictures a user would bring."""
    from ..data.scene_prompts import scene_for_prompt
    from ..data.shapes import extra_colours

    rng = np.random.RandomState(seed)
    with extra_colours(NEW_COLOUR):
        return torch.stack([scene_for_prompt(p, rng).image for p in prompts])


def concept_accuracy(images: torch.Tensor, prompts: list[str]) -> float:
    """The judge's prompt accuracy for prompts that may name the new colour."""
    from ..data.shapes import extra_colours, prompt_accuracy

    with extra_colours(NEW_COLOUR):
        ok = prompt_accuracy(images, prompts)
    return sum(ok) / len(ok)


def fine_tune(
    denoiser,
    latents: torch.Tensor,
    tokens: torch.Tensor,
    steps: int,
    lr: float,
    batch_size: int = 16,
    seed: int = 0,
    prior: tuple[torch.Tensor, torch.Tensor] | None = None,
):
    """Train the parameters of ``denoiser`` that require grad on (latents (n 4 8 8), tokens (n s)),
    with the pretraining loss and 10 % caption dropout. Returns the losses.

    ``prior``: (latents, tokens) of old concepts for DreamBooth's prior preservation (Ruiz et al.,
    2023): half of every batch comes from them, so the loss also asks the model to keep drawing
    what it drew (their λ = 1).
    """
    from ..diffusion.training import diffusion_loss
    from .model import null_tokens
    from .pretrained import latent_schedule

    params = [p for p in denoiser.parameters() if p.requires_grad]
    if not params:
        raise ValueError("nothing to train: no parameter of the denoiser requires grad")
    opt = torch.optim.Adam(params, lr=lr)
    device = latents.device
    gen, schedule = torch.Generator("cpu").manual_seed(seed), latent_schedule().to(device)
    null = {"tokens": null_tokens().to(device)}
    sources = [(latents, tokens.to(device))] + ([(prior[0].to(device), prior[1].to(device))] if prior else [])
    per_source = batch_size // len(sources)
    losses = []
    denoiser.train()
    for _ in range(steps):
        picks = [(z, tk, torch.randint(0, len(z), (per_source,), generator=gen)) for z, tk in sources]
        z0 = torch.cat([z[idx.to(device)] for z, _, idx in picks])  # (b 4 8 8): the new concept, then the old ones
        batch_tokens = torch.cat([tk[idx.to(device)] for _, tk, idx in picks])  # (b s)
        loss = diffusion_loss(denoiser, z0, schedule, gen, {"tokens": batch_tokens}, null, p_uncond=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    denoiser.eval()
    return losses


# ------------------------------------------------------------------------ the recipe and the loader

CUSTOMISE = "latent_customise"
CUSTOMISE_FORMAT = "genai_course.latent_customise/1"
LORA_RANKS = (1, 2, 4, 8)
CUSTOMISE_TRAINING = dict(n_images=8, n_prior=64, steps=300, batch_size=16, ti_lr=1e-2, lora_lr=1e-3)
LORA_KINDS = (*(f"lora{r}" for r in LORA_RANKS), "lora4_no_prior")


def training_set(n: int = CUSTOMISE_TRAINING["n_images"]) -> tuple[list[str], torch.Tensor]:
    """The handful of captioned pictures of the new colour: prompts and images (n 3 32 32) in [0, 1]."""
    prompts = concept_prompts(n, seed=1)
    return prompts, concept_images(prompts, seed=0)


def with_new_word(denoiser, vector: torch.Tensor, trainable: bool):
    """A frozen copy of ``denoiser`` whose text encoder knows the new word, embedded as ``vector`` (d,)."""
    import copy

    model = copy.deepcopy(denoiser).requires_grad_(False)
    add_word(model, vector)
    model.text_encoder.tokens.new.requires_grad_(trainable)
    return model


def random_word_vector(denoiser, seed: int = 0) -> torch.Tensor:
    """A new word with no meaning yet (d,): Gaussian at the scale of the embedding table (LoRA's fixed word)."""
    table = _embedding_table(denoiser)
    g = torch.Generator("cpu").manual_seed(seed)
    return torch.randn(table.shape[1], generator=g) * table.std()


def textual_inversion(denoiser, latents, tokens, steps=CUSTOMISE_TRAINING["steps"], lr=CUSTOMISE_TRAINING["ti_lr"]):
    """Learn only the new word's vector, starting from :data:`INITIAL_WORD`'s. Returns (model, losses)."""
    model = with_new_word(denoiser, initial_vector(denoiser), trainable=True)
    return model, fine_tune(model, latents, tokens, steps, lr)


def lora(
    denoiser,
    latents,
    tokens,
    rank: int,
    steps=CUSTOMISE_TRAINING["steps"],
    lr=CUSTOMISE_TRAINING["lora_lr"],
    prior=None,
):
    """LoRA of ``rank`` on every cross-attention projection; the new word is a fixed random vector.
    ``prior``: (latents, tokens) of old concepts to preserve (see :func:`fine_tune`)."""
    from .lora import add_lora

    model = with_new_word(denoiser, random_word_vector(denoiser), trainable=False)
    add_lora(model, rank)
    return model, fine_tune(model, latents, tokens, steps, lr, prior=prior)


def prior_set(autoencoder, n: int = CUSTOMISE_TRAINING["n_prior"]) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents (n 4 8 8) and tokens (n s) of ``n`` training-split scenes: the old concepts to preserve.
    DreamBooth samples these from the frozen model, having no training data; we have ours."""
    from ..data.scene_prompts import tokenize
    from .pretrained import training_images

    images, prompts = training_images(n, seed=30)  # in [−1, 1]
    device = autoencoder.scale.device
    return autoencoder.to_latent(images.to(device)), tokenize(prompts).to(device)


def evaluate_customised(model, autoencoder, n_old: int = 64) -> dict:
    """New-concept accuracy on all 63 copper prompts, old-concept accuracy on ``n_old`` seen prompts."""
    from ..data.shapes import extra_colours, prompt_accuracy
    from .pipeline import generate, generate_from_tokens
    from .pretrained import evaluation_prompts

    new = concept_prompts()
    with extra_colours(NEW_COLOUR):
        tokens = tokenize_with_word(new)
    old = evaluation_prompts()["seen"][:n_old]
    old_ok = prompt_accuracy(generate(model, autoencoder, old), old)
    return {
        "new_concept": round(concept_accuracy(generate_from_tokens(model, autoencoder, tokens), new), 4),
        "old_concepts": round(sum(old_ok) / len(old_ok), 4),
    }


def make_latent_customise(device=None) -> dict:
    """The recipe ``latent_customise``: textual inversion and LoRA of ranks 1–8 on the handful of copper pictures."""
    import time

    from ..checkpoint_io import checkpoint_path, recipe_command, save_state
    from ..data.shapes import extra_colours
    from .lora import lora_state_dict
    from .pretrained import half, load_autoencoder, load_text_to_image

    torch.manual_seed(0)
    base, autoencoder = load_text_to_image(), load_autoencoder()
    prompts, images = training_set()
    latents = autoencoder.to_latent(images * 2 - 1)
    with extra_colours(NEW_COLOUR):
        tokens = tokenize_with_word(prompts)
    before = with_new_word(base, initial_vector(base), trainable=False)
    record = {"command": recipe_command(CUSTOMISE), "training": CUSTOMISE_TRAINING, "prompts": prompts}
    record["base"] = {"word_as_red": evaluate_customised(before, autoencoder)}
    record["base"]["random_word"] = evaluate_customised(
        with_new_word(base, random_word_vector(base), False), autoencoder
    )
    start = time.perf_counter()
    model, losses = textual_inversion(base, latents, tokens)
    state = {"textual_inversion.vector": model.text_encoder.tokens.new.detach()[0].clone()}
    record["textual_inversion"] = {"parameters": 64, "seconds": round(time.perf_counter() - start, 1)}
    record["textual_inversion"].update(evaluate_customised(model, autoencoder))
    state["lora.word"] = random_word_vector(base)
    prior = prior_set(autoencoder)
    for kind in LORA_KINDS:
        rank = int(kind[4])
        start = time.perf_counter()
        model, losses = lora(base, latents, tokens, rank, prior=None if kind.endswith("no_prior") else prior)
        lora_state = lora_state_dict(model)
        state.update({f"{kind}.{k}": v for k, v in lora_state.items()})
        row = {
            "parameters": sum(v.numel() for v in lora_state.values()),
            "seconds": round(time.perf_counter() - start, 1),
        }
        row["final_loss"] = round(sum(losses[-50:]) / 50, 5)
        record[kind] = {**row, **evaluate_customised(model, autoencoder)}
        print(kind, record[kind], flush=True)
    path = checkpoint_path(f"{CUSTOMISE}.pt")
    save_state(path, CUSTOMISE_FORMAT, {"kinds": list(LORA_KINDS), "word": NEW_WORD}, half(state), record)
    print(f"wrote {path}: {record}")
    return record


def load_customised(kind: str, denoiser=None):
    """The shipped customisation applied to the shipped model: ``kind`` is ``"textual_inversion"`` or
    ``"lora1"``, ``"lora2"``, ``"lora4"``, ``"lora8"`` (with prior preservation) or ``"lora4_no_prior"``.
    Returns a frozen denoiser that knows "copper"."""
    from ..checkpoint_io import checkpoint_path, load_state, recipe_command
    from .lora import add_lora, load_lora_state_dict
    from .pretrained import load_text_to_image

    kinds = ["textual_inversion", *LORA_KINDS]
    if kind not in kinds:
        raise ValueError(f"kind must be one of {kinds}, got {kind!r}")
    _, state = load_state(checkpoint_path(f"{CUSTOMISE}.pt"), CUSTOMISE_FORMAT, recipe_command(CUSTOMISE))
    base = load_text_to_image() if denoiser is None else denoiser
    if kind == "textual_inversion":
        return with_new_word(base, state["textual_inversion.vector"].float(), trainable=False)
    model = with_new_word(base, state["lora.word"].float(), trainable=False)
    add_lora(model, int(kind[4]))
    prefix = f"{kind}."
    load_lora_state_dict(model, {k[len(prefix) :]: v.float() for k, v in state.items() if k.startswith(prefix)})
    return model.requires_grad_(False).eval()


def customise_metrics() -> dict:
    """What the recipe measured (new- and old-concept accuracy of every customisation)."""
    from ..checkpoint_io import checkpoint_path, load_metrics

    return load_metrics(checkpoint_path(f"{CUSTOMISE}.pt"))
