"""Small GAN checkpoints shipped in ``genai_course/checkpoints/gan_*.pt`` (+ ``.json`` metrics).

Made by ``python -m genai_course.gan.pretrain`` (see that module); each loader rebuilds the
model from the stored config.
"""
from __future__ import annotations

from ..metrics._io import checkpoint_path, load_metrics, load_state, save_state

FORMAT = "genai-course-gan-v1"

__all__ = ["FORMAT", "checkpoint_path", "load_metrics", "load_model", "save_model"]


def save_model(name: str, kind: str, config: dict, model, metrics: dict | None = None) -> None:
    save_state(checkpoint_path(f"gan_{name}.pt"), FORMAT, {"kind": kind, **config}, model.state_dict(), metrics)


def load_model(name: str, device=None):
    """Rebuild and load ``gan_<name>.pt``; returns the model in eval mode."""
    from .attributes import AttributeClassifier, AttributeClassifierConfig
    from .dcgan import DCGANConfig, DCGenerator
    from .stylegan import StyleGANConfig, StyleGenerator

    config, state = load_state(checkpoint_path(f"gan_{name}.pt"), FORMAT)
    config = dict(config)
    kind = config.pop("kind")
    builders = {
        "stylegan": lambda c: StyleGenerator(StyleGANConfig(**{**c, "channels": tuple(c["channels"])})),
        "dcgan": lambda c: DCGenerator(DCGANConfig(**c)),
        "attributes": lambda c: AttributeClassifier(AttributeClassifierConfig(**{**c, "channels": tuple(c["channels"])})),
    }
    if kind not in builders:
        raise ValueError(f"unknown checkpoint kind {kind!r}; expected one of {sorted(builders)}")
    model = builders[kind](config)
    model.load_state_dict(state)
    return model.to(device or "cpu").eval()


def metrics_of(name: str) -> dict:
    return load_metrics(checkpoint_path(f"gan_{name}.pt"))
