"""A tiny GPT and a character tokenizer for the RLHF tests (fast, and fixed by a seed)."""

import string

import torch

from genai_course.gpt.model import GPT, GPTConfig
from genai_course.gpt.tokenizers import CharTokenizer

# every character a prompt, an answer or a demonstration can contain ("Q: …\nA: ", "sure, x", "ok: x", typos)
TOKENIZER = CharTokenizer.train(string.ascii_lowercase + string.ascii_uppercase + string.digits + " \n:,")


def tiny_gpt(seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    config = GPTConfig(vocab_size=TOKENIZER.vocab_size, block_size=64, n_layers=1, n_heads=2, d_model=32)
    return GPT(config).eval()
