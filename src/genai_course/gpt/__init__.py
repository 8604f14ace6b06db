"""GPT: tokenizers, the model, pretraining, decoding and fast inference (chapter 2)."""
