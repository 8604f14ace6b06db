"""DALL·E 1 at the scale of a CPU (chapter 7): images as tokens, one transformer over words and image codes.

    from genai_course.dalle import text_to_image
    images = text_to_image(["a red circle", "two small purple triangles"], seed=0, rerank=8)  # (b 3 32 32) in [0, 1]

- :mod:`.vqvae`: the VQ-VAE that turns a 32×32 scene into 8×8 codes and back.
- :mod:`.transformer`: the course GPT over caption words followed by image codes; image-only sampling.
- :mod:`.pipeline`: prompts → codes → images, with optional CLIP reranking; :func:`text_to_image`.
- :mod:`.pretrained`: the shipped VQ-VAE and transformer, and the recipes that make them.
"""

from .pipeline import text_to_image

__all__ = ["text_to_image"]
