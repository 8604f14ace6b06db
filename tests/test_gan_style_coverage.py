"""Attribute coverage of a generator (1-D Wasserstein, KS, range coverage) and the pixel-level smile reading."""

import pytest
import torch
from scipy import stats

from genai_course.data.faces import make_faces, render_faces
from genai_course.gan.attributes import template_smile
from genai_course.gan.style_edit import attribute_coverage, coverage, ks_distance, wasserstein_1d


@pytest.mark.parametrize("n, m", [(200, 200), (150, 333)])
def test_distances_match_scipy(n, m):
    g = torch.Generator("cpu").manual_seed(n)
    a, b = torch.randn(n, generator=g), 0.5 * torch.randn(m, generator=g) + 0.3
    assert wasserstein_1d(a, b) == pytest.approx(stats.wasserstein_distance(a.numpy(), b.numpy()), rel=1e-6)
    assert ks_distance(a, b) == pytest.approx(stats.ks_2samp(a.numpy(), b.numpy()).statistic, rel=1e-6)
    assert wasserstein_1d(a, a) == 0 and ks_distance(a, a) == 0


def test_coverage_detects_a_dropped_mode():
    g = torch.Generator("cpu").manual_seed(0)
    real = torch.rand(4000, generator=g) * 2 - 1  # uniform on [-1, 1], like the smile
    assert coverage(real[:2000], real[2000:]) > 0.95  # the same distribution covers itself
    half = real[real < 0]  # a "generator" that never smiles
    assert coverage(half, real) == pytest.approx(0.5, abs=0.05)
    # Wasserstein sees the missing half as mass that must move about half the range
    assert wasserstein_1d(half, real) == pytest.approx(0.5, abs=0.05)


def test_attribute_coverage_table_and_errors():
    g = torch.Generator("cpu").manual_seed(1)
    real, fake = torch.rand(500, 4, generator=g), torch.rand(400, 4, generator=g)
    fake[:, 0] *= 0.5
    table = attribute_coverage(fake, real)
    assert list(table) == ["smile", "pose", "hair_length", "skin"]
    assert table["smile"]["coverage"] < 0.6 < min(table[k]["coverage"] for k in ("pose", "skin"))
    assert table["smile"]["w1"] > 2 * table["pose"]["w1"]
    with pytest.raises(ValueError, match="score tables"):
        attribute_coverage(fake[:, :3], real)
    with pytest.raises(ValueError, match="1-D"):
        wasserstein_1d(real, fake)


def test_template_smile_reads_drawn_mouths():
    faces = make_faces(300, seed=3)
    got = template_smile(faces.images, faces.attrs)
    truth = faces.attrs["smile"]
    assert (got - truth).abs().mean() < 0.15
    assert torch.corrcoef(torch.stack([got, truth]))[0, 1] > 0.95
    # an exact render on the grid is read exactly
    attrs = {k: v[:4] for k, v in faces.attrs.items()} | {"smile": torch.tensor([-1.0, -0.4, 0.4, 1.0])}
    assert torch.allclose(template_smile(render_faces(attrs), attrs), attrs["smile"], atol=1e-6)
    with pytest.raises(ValueError, match="missing"):
        template_smile(faces.images[:2], {"pose": faces.attrs["pose"][:2]})
