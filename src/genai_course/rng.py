"""Seeded random numbers that work whatever device the model is on.

A ``torch.Generator`` lives on one device, and torch refuses to draw with it onto another:
``torch.multinomial(cuda_probs, 1, generator=cpu_generator)`` raises "Expected a 'cuda'
device type for generator". Every sampler in the course therefore draws *on the generator's
device* and moves the result to where it is needed. A notebook can pass the same CPU
generator to a model on the CPU or on a GPU, and the draws are the same numbers on both.

Build generators with :func:`generator`, which names the device explicitly
(``tests/test_rng.py`` rejects a bare ``torch.Generator()`` anywhere in the course).
"""

from __future__ import annotations

import torch


def generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A generator on ``device`` seeded with ``seed``."""
    return torch.Generator(device=device).manual_seed(int(seed))


def _device_of(gen: torch.Generator | None) -> torch.device:
    return gen.device if gen is not None else torch.device("cpu")


def randn(
    shape,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Standard normal noise of ``shape``, drawn on the generator's device, returned on ``device``."""
    return torch.randn(shape, generator=generator, device=_device_of(generator), dtype=dtype).to(device)


def multinomial(probs: torch.Tensor, num_samples: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
    """``torch.multinomial`` for probabilities on any device: (b v) → (b num_samples) on ``probs.device``."""
    drawn = torch.multinomial(probs.to(_device_of(generator)), num_samples, generator=generator)
    return drawn.to(probs.device)
