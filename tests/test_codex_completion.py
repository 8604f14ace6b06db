"""Where a generated function ends, token healing, early stopping, and mean log-prob ranking."""

import pytest
import torch

from genai_course.codex.completion import (
    STOP_SEQUENCES,
    def_indent,
    function_end,
    mean_logprob,
    sample_completions,
    truncate_at_function_end,
    truncate_at_stop_sequences,
)
from genai_course.gpt.model import GPT, GPTConfig
from genai_course.gpt.sampling import generate
from genai_course.gpt.tokenizers import ByteBPETokenizer

PROMPT = 'def add(a, b):\n    """Return a + b."""\n'


def test_function_end_is_first_line_at_def_indentation():
    body = "    x = a + b\n\n    return x\n"
    assert function_end(body) is None  # still open: blank lines and indented lines do not end it
    assert function_end(body + "def other():\n    pass\n") == len(body)
    assert function_end(body + "print(add(1, 2))") == len(body)
    assert truncate_at_function_end(body + "\n\nclass A:\n    pass\n") == body + "\n\n"
    assert function_end("return 1\n") == 0  # no body at all: an empty function, which fails its tests


def test_function_end_of_a_method_uses_the_def_indentation():
    prompt = 'class A:\n    def f(self):\n        """Doc."""\n'
    assert def_indent(prompt) == 4
    body = "        return 1\n"
    assert function_end(body + "    def g(self):\n", indent=4) == len(body)
    assert function_end(body + "\n        # still inside\n", indent=4) is None


def test_a_half_written_line_at_column_zero_already_ends_the_function():
    assert function_end("    return 1\nd", indent=0) == len("    return 1\n")


def test_stop_sequences_are_codex_s_and_cut_at_the_first():
    assert STOP_SEQUENCES == ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
    assert truncate_at_stop_sequences("    return 1\nprint(2)\ndef g(): pass") == "    return 1"
    # the stop strings miss a top-level statement that starts any other way; the indentation rule does not
    tail = "    return 1\nassert add(1, 2) == 3\n"
    assert truncate_at_stop_sequences(tail) == tail
    assert truncate_at_function_end(tail) == "    return 1\n"


@pytest.fixture(scope="module")
def tiny():
    text = ("def f(x):\n    return x + 1\n\n\n" * 40) + PROMPT * 20
    tok = ByteBPETokenizer.train(text, 300, split="code")
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tok.vocab_size, block_size=64, n_layers=1, n_heads=2, d_model=32, pos="rope"))
    return model.eval(), tok


def test_generate_stops_when_every_row_is_finished(tiny):
    model, _ = tiny
    idx = torch.zeros(3, 2, dtype=torch.long)
    calls = []

    def stop(seq):
        calls.append(seq.shape[1])
        return torch.full((seq.shape[0],), seq.shape[1] >= 5)

    out = generate(model, idx, 20, stop=stop, generator=torch.Generator().manual_seed(0))
    assert out.shape == (3, 5) and calls[-1] == 5
    assert generate(model, idx, 7, generator=torch.Generator().manual_seed(0)).shape == (3, 9)


def test_samples_are_continuations_of_the_prompt_cut_at_the_function_end(tiny):
    model, tok = tiny
    samples = sample_completions(model, tok, PROMPT, n=6, temperature=1.0, max_new_tokens=24, seed=3)
    assert len(samples) == 6
    for s in samples:
        assert s.raw.startswith(s.text)
        assert function_end(s.text) is None  # the cut text is the body only
        assert s.n_tokens <= 24
    again = sample_completions(model, tok, PROMPT, n=6, temperature=1.0, max_new_tokens=24, seed=3)
    assert [s.raw for s in again] == [s.raw for s in samples]  # the seed fixes the samples
    greedy = sample_completions(model, tok, PROMPT, n=3, temperature=0.0, max_new_tokens=10)
    assert len({s.raw for s in greedy}) == 1


def test_sample_completions_rejects_bad_arguments(tiny):
    model, tok = tiny
    for kwargs in (dict(prompt=""), dict(prompt=PROMPT, n=0), dict(prompt=PROMPT, temperature=-1.0)):
        with pytest.raises(ValueError):
            sample_completions(model, tok, **kwargs)


def test_mean_logprob_equals_a_hand_computed_score(tiny):
    model, tok = tiny
    completion = "    return a + b\n"
    (score,) = mean_logprob(model, tok, PROMPT, [completion])
    ids = tok.encode(PROMPT + completion)
    head = tok.encode(PROMPT.rstrip())
    assert ids[: len(head)] == head  # the code split never merges across the prompt's last line
    with torch.no_grad():
        logp = model(torch.tensor([ids[:-1]]))[0][0].log_softmax(-1)
    expected = torch.stack([logp[i - 1, ids[i]] for i in range(len(head), len(ids))]).mean().item()
    assert score == pytest.approx(expected, abs=1e-5)


def test_the_public_complete_returns_bodies_that_make_programs():
    from genai_course.codex import complete, tasks
    from genai_course.codex.sandbox import execute

    task = tasks.make_task("sum_list", 0)
    bodies = complete(task.prompt, n=3, temperature=0.8, seed=1, max_new_tokens=64)
    assert len(bodies) == 3 and all(isinstance(b, str) for b in bodies)
    assert all(function_end(b) is None for b in bodies)  # the body only, cut where the function ends
    assert complete(task.prompt, n=3, temperature=0.8, seed=1, max_new_tokens=64) == bodies
    for body in bodies:  # every completion makes a program the sandbox can judge, passed or not
        assert execute(tasks.program(task, body)).status in ("passed", "failed")
    with pytest.raises(ValueError, match="prompt"):
        complete("   ")
