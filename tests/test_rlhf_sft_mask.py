"""The response-only SFT loss on the concatenated sequence equals sft_loss, which takes prompts and responses apart."""

import string

import pytest
import torch

from genai_course.gpt.model import GPT, GPTConfig
from genai_course.gpt.tokenizers import CharTokenizer
from genai_course.rlhf.encoding import encode_prompts, encode_responses
from genai_course.rlhf.sft import make_demonstrations, response_loss_mask, response_only_loss, sft_loss
from genai_course.rlhf.tasks import make_instructions

torch.set_num_threads(1)
TOKENIZER = CharTokenizer.train(string.ascii_lowercase + string.ascii_uppercase + string.digits + " \n:,")


def test_mask_by_hand():
    mask = response_loss_mask(3, torch.tensor([1, 2, 4]), 6)  # targets 2 … 2 + L − 1
    expected = torch.tensor([[0, 0, 1, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1]]).float()
    assert torch.equal(mask, expected)


def test_response_only_loss_equals_sft_loss_on_a_tiny_gpt():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=TOKENIZER.vocab_size, block_size=64, n_layers=1, n_heads=2, d_model=32)).eval()
    instructions = make_instructions(6, seed=0)
    prompts = encode_prompts(TOKENIZER, instructions)
    responses, mask = encode_responses(TOKENIZER, make_demonstrations(instructions, seed=0))
    full = torch.cat([prompts, responses], dim=1)
    with torch.no_grad():
        logits, _ = model(full[:, :-1])
        got = response_only_loss(logits, full[:, 1:], prompts.shape[1], mask.sum(1).long())
        assert got == pytest.approx(float(sft_loss(model, prompts, responses, mask)), abs=1e-5)


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="response_lens"):
        response_loss_mask(3, torch.tensor([[1]]), 6)
    with pytest.raises(ValueError, match="response length"):
        response_loss_mask(3, torch.tensor([5]), 6)
    with pytest.raises(ValueError, match="logits"):
        response_only_loss(torch.zeros(2, 5), torch.zeros(2, 5, dtype=torch.long), 2, torch.tensor([1, 1]))
