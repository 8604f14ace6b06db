"""Small GAN checkpoints shipped in ``genai_course/checkpoints/gan_*.pt`` (+ ``.json`` metrics).

Made by the recipes ``genai-course recipe gan_NAME`` (functions in :mod:`genai_course.gan.pretrain`,
stored through :mod:`genai_course.checkpoint_io`); each loader rebuilds the
model from the stored config, after checking that the file holds the kind of model asked for
(every GAN checkpoint shares one format, so the recorded ``kind`` is what tells them apart).
"""

from __future__ import annotations

from ..checkpoint_io import (
    build_model,
    checkpoint_path,
    load_metrics,
    load_state,
    recipe_command,
    remake_hint,
    save_state,
)
from ..errors import CheckpointError

FORMAT = "genai-course-gan-v1"
KINDS = ("attributes", "dcgan", "stylegan")

# What each shipped checkpoint must hold: its kind, and config values that tell apart files of one kind.
SHIPPED = {
    "dcgan_digits": ("dcgan", {"n_classes": 0, "img_channels": 1}),
    "cgan_digits": ("dcgan", {"n_classes": 10, "img_channels": 1}),
    "dcgan_faces": ("dcgan", {"n_classes": 0, "img_channels": 3}),
    "stylegan_faces": ("stylegan", {}),
    "face_attributes": ("attributes", {}),
}

__all__ = ["FORMAT", "checkpoint_path", "load_metrics", "load_model", "save_model"]


def save_model(name: str, kind: str, config: dict, model, metrics: dict | None = None) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    save_state(checkpoint_path(f"gan_{name}.pt"), FORMAT, {"kind": kind, **config}, model.state_dict(), metrics)


def _expected_kind(name: str) -> str | None:
    if name in SHIPPED:
        return SHIPPED[name][0]
    if "attributes" in name:
        return "attributes"
    for kind in ("stylegan", "dcgan", "cgan"):
        if name.startswith(kind):
            return "dcgan" if kind == "cgan" else kind
    return None


def load_model(name: str, device=None, kind: str | None = None):
    """Rebuild and load ``gan_<name>.pt``; returns the model in eval mode.

    The file must hold the kind of model ``name`` stands for (``kind`` names it for a file
    that is not shipped and whose name does not tell); otherwise a ``CheckpointError`` is raised.
    """
    from .attributes import AttributeClassifier, AttributeClassifierConfig
    from .dcgan import DCGANConfig, DCGenerator
    from .stylegan import StyleGANConfig, StyleGenerator

    path = checkpoint_path(f"gan_{name}.pt")
    recipe = recipe_command(f"gan_{name}") if name in SHIPPED else None
    hint = remake_hint(path, recipe)
    expected = kind or _expected_kind(name)
    if expected not in KINDS:
        raise ValueError(
            f"cannot tell which kind of model gan_{name}.pt should hold: pass kind= one of {', '.join(KINDS)}"
        )
    config, state = load_state(path, FORMAT, recipe)
    config = dict(config)
    got = config.pop("kind", None)
    if got != expected:
        raise CheckpointError(
            f"checkpoint {path} holds a {got!r} model, but {name!r} is a {expected!r} model: "
            f"the file is of the wrong kind{hint}"
        )
    for key, value in (SHIPPED[name][1] if name in SHIPPED and kind is None else {}).items():
        if config.get(key) != value:
            raise CheckpointError(
                f"checkpoint {path} has {key}={config.get(key)!r}, but {name!r} has {key}={value!r}: "
                f"the file is of the wrong kind{hint}"
            )
    builders = {
        "stylegan": lambda c: StyleGenerator(StyleGANConfig(**{**c, "channels": tuple(c["channels"])})),
        "dcgan": lambda c: DCGenerator(DCGANConfig(**c)),
        "attributes": lambda c: AttributeClassifier(
            AttributeClassifierConfig(**{**c, "channels": tuple(c["channels"])})
        ),
    }
    model = build_model(path, builders[expected], config, state, recipe)
    return model.to(device or "cpu").eval()


def metrics_of(name: str) -> dict:
    return load_metrics(checkpoint_path(f"gan_{name}.pt"))
