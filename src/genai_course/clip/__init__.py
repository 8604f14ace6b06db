"""CLIP: contrastive language–image pretraining at the scale of a CPU (chapter 7).

    from genai_course.clip import clip_score
    clip_score(images, ["a red circle", "two small purple triangles"])  # (b,): 2.5 · max(cos, 0)

- :mod:`.model`: the image encoder (a small CNN), the text encoder (chapter 6's transformer,
  mean-pooled) and the learned temperature; :class:`~.model.CLIP` maps both into one space.
- :mod:`.loss`: the symmetric contrastive loss of the paper's Figure 3.
- :mod:`.training`: AdamW on random batches of pairs; why repeated captions are false negatives.
- :mod:`.zero_shot`: zero-shot classification with prompt ensembling, retrieval recall@k, and
  the colour–shape task with held-out classes.
- :mod:`.score`: CLIPScore (Hessel et al., 2021) and DALL·E's reranking of candidates.
- :mod:`.pretrained`: the shipped ``clip_scenes`` model and the recipe that makes it.
"""

from .score import clip_score

__all__ = ["clip_score"]
