"""Where a GPT's parameters are: a per-component count and the closed form it must match.

For the course GPT with learned positions, LayerNorm with biases, a 4d GELU MLP and a head tied
to the token embedding (GPT-2's choices, :class:`~genai_course.gpt.model.GPTConfig`'s defaults),
each block holds

- attention: four d × d matrices (query, key, value, output) and their biases, 4d² + 4d;
- MLP: d × 4d and 4d × d matrices with biases 4d and d, 8d² + 5d;
- two LayerNorms with a gain and a bias each, 4d;

12d² + 13d in all, so the model holds L(12d² + 13d) + Vd (tokens) + Td (positions) + 2d (final
LayerNorm). The familiar "12 L d²" (Kaplan et al. 2020, section 2.1) is its leading term.
"""

from __future__ import annotations

from torch import nn

from .model import GPT, GPTConfig


def closed_form_params(c: GPTConfig) -> int:
    """Every parameter of ``GPT(c)``, counted from the formula above (GPT-2's architecture only)."""
    if (c.pos, c.norm, c.mlp, c.bias, c.tie_weights) != ("learned", "layernorm", "gelu", True, True):
        raise ValueError(
            "the closed form covers GPT-2's architecture: learned positions, LayerNorm, GELU, biases, tied head"
        )
    d = c.d_model
    return c.n_layers * (12 * d * d + 13 * d) + c.vocab_size * d + c.block_size * d + 2 * d


def _count(module: nn.Module | None) -> int:
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def param_breakdown(model: GPT) -> dict[str, int]:
    """Parameters per component; a tied head counts zero (its matrix is the token embedding's),
    so the values sum to ``model.num_params(non_embedding=False)``."""
    blocks = model.blocks
    tied = model.lm_head.weight is model.wte.weight
    return {
        "token embedding (V d)": _count(model.wte),
        "position embedding (T d)": _count(model.wpe),
        "attention: q, k, v, out (L (4d² + 4d))": sum(_count(b.attn) for b in blocks),
        "MLP: d→4d→d (L (8d² + 5d))": sum(_count(b.mlp) for b in blocks),
        "block LayerNorms (L 4d)": sum(_count(b.ln1) + _count(b.ln2) for b in blocks),
        "final LayerNorm (2d)": _count(model.ln_f),
        "head (tied: 0)" if tied else "head (V d)": 0 if tied else _count(model.lm_head),
    }
