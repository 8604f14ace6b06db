"""Attention rollout and the named object's patch for the toy VQA model; attention figures."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from genai_course.data.shapes import COLOURS  # noqa: E402
from genai_course.data.vqa import (  # noqa: E402
    ANSWER_ID,
    encode_question,
    make_vqa_data,
    named_object_patch,  # noqa: E402
)
from genai_course.nn.vqa import VQAConfig, VQAModel, attention_rollout  # noqa: E402
from genai_course.viz.attention import plot_attention_maps, plot_attention_overlays  # noqa: E402


def _brute_force_rollout(model, images, questions):
    """Layer by layer with explicit loops over the batch: ½(A + I) products, row 0, patch columns."""
    for b in model.blocks:
        b.attn.record_weights = True
    with torch.no_grad():
        model(images, questions)
    out = []
    for i in range(len(images)):
        r = None
        for b in model.blocks:
            a = b.attn.last_weights[i].mean(0)
            step = 0.5 * a + 0.5 * torch.eye(a.shape[0])
            r = step if r is None else step @ r
        row = r[0, -model.patches.n_patches :]
        out.append(row / row.sum())
    for b in model.blocks:
        b.attn.record_weights = False
    return torch.stack(out)


def test_rollout_matches_brute_force_and_restores_recording():
    torch.manual_seed(0)
    model = VQAModel(VQAConfig()).eval()
    images, questions, _, _ = make_vqa_data(3, seed=0, size=24, n_objects=2, grid=3)
    roll = attention_rollout(model, images, questions)
    assert roll.shape == (6, 9)
    torch.testing.assert_close(roll.sum(-1), torch.ones(6))
    assert all(not b.attn.record_weights and b.attn.last_weights is None for b in model.blocks)
    torch.testing.assert_close(roll, _brute_force_rollout(model, images, questions))


def test_named_object_patch_finds_the_object_by_colour():
    images = torch.zeros(2, 3, 24, 24)
    images[0, :, 2:6, 18:22] = torch.tensor(COLOURS["red"])[:, None, None]  # red in patch 2 (row 0, col 2)
    images[0, :, 10:14, 2:6] = torch.tensor(COLOURS["blue"])[:, None, None]  # blue in patch 3
    images[1] = images[0]
    questions = torch.tensor([encode_question("what shape is red ?"), encode_question("what colour is the circle ?")])
    answers = torch.tensor([ANSWER_ID["square"], ANSWER_ID["blue"]])
    assert named_object_patch(images, questions, answers, 8).tolist() == [2, 3]
    with pytest.raises(ValueError, match="no pixel"):
        named_object_patch(torch.zeros(1, 3, 24, 24), questions[:1], answers[:1], 8)


def test_named_object_patch_on_generated_scenes_is_an_occupied_patch():
    images, questions, answers, _ = make_vqa_data(20, seed=3, size=24, n_objects=2, grid=3)
    idx = named_object_patch(images, questions, answers, 8)
    cells = images.reshape(len(images), 3, 3, 8, 3, 8).permute(0, 2, 4, 1, 3, 5).reshape(len(images), 9, -1)
    assert (cells.amax(-1)[torch.arange(len(idx)), idx] > 0.5).all()


def test_attention_figures_have_labelled_colour_bars():
    fig = plot_attention_maps([torch.eye(3), torch.ones(3, 3) / 3], ["a", "b"])
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert "attention weight" in labels and len(fig.axes) == 3
    plt.close(fig)
    fig = plot_attention_maps([torch.eye(3)], ["a"], colorbar=False)
    assert len(fig.axes) == 1
    plt.close(fig)
    fig = plot_attention_overlays(torch.rand(2, 3, 24, 24), torch.rand(2, 3, 3), ["x", "y"])
    assert "share of attention" in [ax.get_ylabel() for ax in fig.axes] and len(fig.axes) == 2 * 2 + 1
    plt.close(fig)
    fig = plot_attention_overlays(torch.rand(2, 3, 24, 24), torch.rand(2, 3, 3), ["x", "y"], show_plain=False)
    assert len(fig.axes) == 2 + 1
    plt.close(fig)
    with pytest.raises(ValueError, match="gh gw"):
        plot_attention_overlays(torch.rand(2, 3, 24, 24), torch.rand(3, 3), ["x", "y"])
