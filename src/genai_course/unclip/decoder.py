r"""unCLIP's decoder: chapter 6's latent U-Net, re-conditioned on a CLIP image embedding.

DALL·E 2's decoder is GLIDE's diffusion model with the CLIP image embedding added in two places
(Ramesh et al. 2022, §2.1): projected into **four extra tokens of context** for the attention
layers, and added to the timestep embedding. Ours keeps the first, which is all our U-Net's
cross-attention needs::

    CLIP image embedding (b 64) ──► Linear ──► 4 context tokens (b 4 64) ──► the U-Net's cross-attention
    z_t (b 4 8 8), t ──────────────────────────────────────────────────────► ε_θ(z_t, t, z_i)

The U-Net is chapter 6's trained one, frozen, with rank-8 LoRA on its cross-attention
projections (chapter 6, notebook 5): the weights learned to draw shapes stay, and only the small
projection and the LoRA matrices learn to read the new condition. As in the paper, the embedding
is set to zero 10 % of the time in training, so zero is the null condition ∅ of classifier-free
guidance.
"""

from __future__ import annotations

import torch
from torch import nn

from ..shape_check import expect_shape

N_CONTEXT_TOKENS = 4  # DALL·E 2's "four extra tokens of context"
LORA_RANK = 8


class EmbeddingDecoder(nn.Module):
    """ε_θ(z_t, t, embedding): ``unet``'s cross-attention reads tokens projected from a CLIP embedding (b e)."""

    def __init__(self, unet: nn.Module, embed_dim: int = 64, n_tokens: int = N_CONTEXT_TOKENS):
        super().__init__()
        self.unet = unet
        self.embed_dim, self.n_tokens = embed_dim, n_tokens
        self.context_dim = unet.config.context_dim
        self.to_context = nn.Linear(embed_dim, n_tokens * self.context_dim)
        self.norm = nn.LayerNorm(
            self.context_dim
        )  # the text encoder's outputs, which the U-Net knows, were normalised too

    def context(self, embedding: torch.Tensor) -> torch.Tensor:
        """(b e) → (b n_tokens context_dim)."""
        expect_shape(embedding, "b e", e=self.embed_dim, name="CLIP embeddings")
        return self.norm(self.to_context(embedding).reshape(len(embedding), self.n_tokens, self.context_dim))

    def forward(self, z: torch.Tensor, t: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """z (b 4 h w), t (b,), embedding (b e) → predicted noise (b 4 h w)."""
        return self.unet(z, t, context=self.context(embedding))


def decoder_from_latent_model(denoiser, embed_dim: int = 64, rank: int = LORA_RANK) -> EmbeddingDecoder:
    """A fresh decoder on a *copy* of chapter 6's U-Net (``denoiser.unet``), frozen, LoRA on its cross-attention."""
    import copy

    from ..latent.lora import add_lora

    unet = copy.deepcopy(denoiser.unet).requires_grad_(False)
    add_lora(unet, rank=rank)
    return EmbeddingDecoder(unet, embed_dim)


def trainable_state(decoder: EmbeddingDecoder) -> dict[str, torch.Tensor]:
    """What training changed, and all a decoder file has to store: the projection, its norm and the LoRA matrices."""
    from ..latent.lora import lora_state_dict

    own = {f"to_context.{k}": v for k, v in decoder.to_context.state_dict().items()}
    own |= {f"norm.{k}": v for k, v in decoder.norm.state_dict().items()}
    return own | {f"unet.{k}": v for k, v in lora_state_dict(decoder.unet).items()}


def load_trainable_state(decoder: EmbeddingDecoder, state: dict[str, torch.Tensor]) -> None:
    from ..latent.lora import load_lora_state_dict

    decoder.to_context.load_state_dict(
        {k[len("to_context.") :]: v for k, v in state.items() if k.startswith("to_context.")}
    )
    decoder.norm.load_state_dict({k[len("norm.") :]: v for k, v in state.items() if k.startswith("norm.")})
    load_lora_state_dict(decoder.unet, {k[len("unet.") :]: v for k, v in state.items() if k.startswith("unet.")})
