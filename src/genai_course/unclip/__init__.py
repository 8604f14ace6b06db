"""unCLIP (DALL·E 2) at the scale of a CPU (chapter 7): a prior from CLIP text to image embeddings, and a decoder.

    from genai_course.unclip import text_to_image
    images = text_to_image(["a red circle", "two small purple triangles"], seed=0)  # (b 3 32 32) in [0, 1]

- :mod:`.prior`: a diffusion prior in CLIP's embedding space, text embedding → image embedding.
- :mod:`.decoder`: chapter 6's latent U-Net reading a CLIP image embedding through four context tokens.
- :mod:`.pipeline`: prompts → images; image variations; :func:`text_to_image`.
- :mod:`.pretrained`: the shipped prior and decoder, and the recipes that make them.
"""

from .pipeline import text_to_image

__all__ = ["text_to_image"]
