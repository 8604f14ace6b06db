"""Latent diffusion: Stable Diffusion's recipe at the scale of a CPU (chapter 6).

    from genai_course.latent import text_to_image
    images = text_to_image(["a red circle", "two small purple triangles"], seed=0)  # (b 3 32 32) in [0, 1]

- :mod:`.autoencoder`: the KL-regularised autoencoder (image ⇄ latent, f = 4).
- :mod:`.text_encoder`: a small transformer over the prompt's words.
- :mod:`.model`: the text encoder and the latent U-Net together, ε_θ(z_t, t, prompt).
- :mod:`.pipeline`: prompts → images with DDIM and classifier-free guidance; :func:`text_to_image`.
- :mod:`.pretrained`: the shipped models and the recipes that make them.
"""

from .pipeline import text_to_image

__all__ = ["text_to_image"]
