"""Attribute directions, conditional editing and path measures of the style-control notebook."""

import pytest
import torch

from genai_course.gan.attributes import AttributeClassifier
from genai_course.gan.style_edit import (
    attribute_directions,
    attribute_patterns,
    interpolation_roughness,
    orthogonalize,
    path_length,
    render,
    sample_w,
    slerp,
)
from genai_course.gan.stylegan import StyleGANConfig, StyleGenerator, modulated_weight

TINY = StyleGANConfig(z_dim=8, w_dim=8, mapping_layers=2, channels=(8, 8, 8, 8))


def test_regression_recovers_known_directions():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(500, 6, generator=g)
    true = torch.linalg.qr(torch.randn(6, 4, generator=g))[0]  # 4 orthonormal directions
    scores = w @ true * torch.tensor([1.0, 2.0, 0.5, 3.0]) + 0.01 * torch.randn(500, 4, generator=g)
    dirs = attribute_directions(w, scores)
    for i, d in enumerate(dirs.values()):
        assert abs(d @ true[:, i]) > 0.99
    with pytest.raises(ValueError, match="scores"):
        attribute_directions(w, scores[:, :2])


def test_patterns_are_the_covariance_times_the_regression_weights():
    # Haufe et al. (2014): the pattern of a linear readout is Σ_w B; it differs from B when W is anisotropic
    g = torch.Generator().manual_seed(2)
    w = torch.randn(2000, 6, generator=g) @ torch.diag(torch.tensor([3.0, 1.0, 1.0, 0.3, 0.3, 0.1]))
    w = w @ torch.linalg.qr(torch.randn(6, 6, generator=g))[0]
    scores = w @ torch.randn(6, 4, generator=g) + 0.1 * torch.randn(2000, 4, generator=g)
    pats, dirs = attribute_patterns(w, scores), attribute_directions(w, scores)
    cov_w = torch.cov(w.T)
    for k in pats:
        expected = cov_w @ dirs[k]
        assert abs(pats[k] @ (expected / expected.norm())) > 0.999
        assert pats[k].norm().item() == pytest.approx(1.0)
    assert min(abs(pats[k] @ dirs[k]) for k in pats) < 0.9  # not the regression direction here
    with pytest.raises(ValueError, match="scores"):
        attribute_patterns(w, scores[:, :2])


def test_orthogonalize_removes_the_other_directions():
    g = torch.Generator().manual_seed(1)
    dirs = {k: v / v.norm() for k, v in zip("abcd", torch.randn(4, 10, generator=g), strict=True)}
    d = orthogonalize(dirs, "a")
    assert d.norm().item() == pytest.approx(1.0)
    assert all(abs(d @ dirs[k]) < 1e-5 for k in "bcd") and d @ dirs["a"] > 0


def test_slerp_endpoints_and_norm():
    a, b = torch.randn(3, 5), torch.randn(3, 5)
    assert torch.allclose(slerp(a, b, torch.zeros(3, 1)), a, atol=1e-5)
    assert torch.allclose(slerp(a, b, torch.ones(3, 1)), b, atol=1e-5)


def test_modulated_weight_matches_a_loop():
    g = torch.Generator().manual_seed(2)
    weight, style = torch.randn(4, 3, 3, 3, generator=g), torch.rand(2, 3, generator=g) + 0.5
    out = modulated_weight(weight, style)
    for b in range(2):
        for o in range(4):
            w = weight[o] * style[b][:, None, None]
            assert torch.allclose(out[b, o], w / w.pow(2).sum().sqrt(), atol=1e-6)
    with pytest.raises(ValueError, match=r"style: expected shape \(b c=3\), got \(2, 2\): c is 2, not 3"):
        modulated_weight(weight, style[:, :2])


def test_path_measures_run_on_a_tiny_generator():
    torch.manual_seed(0)
    G, clf = StyleGenerator(TINY).eval(), AttributeClassifier().eval()
    for layer in G.layers:  # make the styles depend on w (they start constant)
        torch.nn.init.normal_(layer.conv.affine.weight, std=0.5)
    z, w = sample_w(G, 4)
    assert render(G, w).shape == (4, 3, 32, 32) and torch.equal(render(G, w), render(G, w))
    frames, rough = interpolation_roughness(G, clf, z[:2], z[2:], "w", frames=5)
    assert frames.shape == (2, 5, 3, 32, 32) and (rough >= 1 - 1e-4).all()
    assert path_length(G, clf, "z", n=16) > 0
    with pytest.raises(ValueError, match="space"):
        path_length(G, clf, "x", n=4)


def test_untrained_generator_already_varies_with_z():
    """Regression test: PyTorch's default Linear init shrank w to a near-constant after 4 mapping layers,
    and zero-initialized style weights made every sample identical; training then barely found diversity."""
    torch.manual_seed(0)
    G = StyleGenerator(StyleGANConfig(z_dim=32, w_dim=32, channels=(16, 16, 8, 8))).eval()
    with torch.no_grad():
        w = G.mapping(torch.randn(256, 32))
        images = render(G, w[:32])
    assert w.std(0).mean() > 0.3
    assert images.std(0).mean() > 0.1
