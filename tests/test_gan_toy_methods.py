"""The 2-D methods of the stabilizing notebook: their papers' settings, the minibatch-std feature, lr decay."""

import pytest
import torch

from genai_course.data.toy2d import ring
from genai_course.gan.models2d import Discriminator2D, Generator2D, MLP2DConfig, minibatch_std
from genai_course.gan.toy import METHODS, method_config, train_toy_gan
from genai_course.gan.train import GANTrainConfig, train_gan


def test_method_settings_follow_the_papers():
    # Gulrajani et al.'s 2-D script gan_toy.py: Adam 1e-4, betas (0.5, 0.9), 5 critic steps, λ = 0.1
    wgan, wgan_d = method_config("wgan-gp", steps=10)
    assert (wgan.loss, wgan.gp_weight, wgan.n_critic, wgan.betas, wgan_d) == ("wasserstein", 0.1, 5, (0.5, 0.9), {})
    assert wgan.lr_g == wgan.lr_d == 1e-4
    assert method_config("wgan-gp", steps=10, lr=1e-3)[0].lr_d == 1e-3  # an explicit rate overrides
    sn, sn_d = method_config("spectral", steps=10)
    assert (sn.loss, sn.n_critic, sn.betas, sn_d) == ("hinge", 1, (0.0, 0.9), {"spectral_norm": True})
    assert method_config("minibatch-std", steps=10)[1] == {"minibatch_std": True}
    pac, pac_d = method_config("pacgan", steps=10)  # PacGAN4: the vanilla GAN, its discriminator fed packs of 4
    assert (pac.loss, pac.n_critic, pac.betas, pac_d) == ("nonsaturating", 1, (0.5, 0.999), {"pack": 4})
    # notebook 1 relies on these two being unchanged
    for name, loss in (("minimax", "minimax"), ("vanilla", "nonsaturating")):
        cfg, d = method_config(name, steps=10)
        assert (cfg.loss, cfg.betas, cfg.lr_g, cfg.lr_d, cfg.lr_decay, d) == (loss, (0.5, 0.999), 1e-3, 1e-3, False, {})
    with pytest.raises(ValueError, match="method must be one of"):
        method_config("lsgan", steps=10)


def test_minibatch_std_sees_collapse():
    spread = minibatch_std(ring().sample(256, torch.Generator().manual_seed(0)))
    collapsed = minibatch_std(torch.zeros(256, 2) + 0.01 * torch.randn(256, 2))
    assert spread.shape == (256, 3) and torch.all(spread[:, -1] == spread[0, -1])
    assert spread[0, -1] > 1.0 > 0.05 > collapsed[0, -1]
    D = Discriminator2D(MLP2DConfig(minibatch_std=True))
    assert D(torch.randn(5, 2)).shape == (5,)
    # the score of one sample depends on the rest of its batch
    x = torch.randn(8, 2)
    assert not torch.allclose(D(x)[:1], D(torch.cat([x[:1], x[:1].expand(7, 2)]))[:1])


def test_packing_judges_consecutive_samples_together():
    torch.manual_seed(0)
    D = Discriminator2D(MLP2DConfig(pack=4))
    x = torch.randn(12, 2)
    assert D.net[0].in_features == 8 and D(x).shape == (3,)
    # the score of a pack is the plain MLP on its 4 points side by side, and packs do not mix
    assert torch.allclose(D(x)[1], D.net(x[4:8].reshape(1, 8))[0])
    assert torch.allclose(D(x)[:1], D(torch.cat([x[:4], torch.zeros(8, 2)]))[:1])
    with pytest.raises(ValueError, match="cannot be split into packs of 4"):
        D(torch.randn(10, 2))
    with pytest.raises(ValueError, match="pack must be >= 1"):
        Discriminator2D(MLP2DConfig(pack=0))


def test_lr_decay_reaches_zero_and_default_keeps_the_rate():
    mix = ring()
    for decay, last_lr in ((True, 1e-3 / 4), (False, 1e-3)):
        G, D = Generator2D(), Discriminator2D()
        opt_g = torch.optim.Adam(G.parameters(), lr=1e-3)
        train_gan(
            G,
            D,
            lambda b: (mix.sample(b), None),
            lambda b: (torch.randn(b, 8), None),
            GANTrainConfig(steps=4, batch_size=8, lr_decay=decay),
            opt_g=opt_g,
        )
        assert opt_g.param_groups[0]["lr"] == pytest.approx(last_lr)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs(method):
    run = train_toy_gan(ring(), method, steps=4, log_every=2, n_eval=100, hidden=16)
    assert run.steps == [2, 4] and 0 <= run.final["high_quality"] <= 1
    for name in ("modes", "modes_any", "high_quality", "shares", "energy", "critic_gap", "d_loss"):
        assert len(getattr(run, name)) == 2, name
    assert len(run.shares[-1]) == 8 and run.final["modes"] <= run.final["modes_any"] <= 8
    assert abs(sum(run.shares[-1]) - run.final["high_quality"]) < 1e-3  # shares split the high-quality samples


def test_top_share_tells_collapse_from_a_spread():
    from genai_course.gan.toy import top_share

    assert top_share([0.45, 0.45] + [0.0] * 6) == pytest.approx(1.0)
    assert top_share([0.1] * 8) == pytest.approx(0.25)
    assert top_share([0.0] * 8) == 0.0


def test_shipped_comparison_table_is_complete_and_matches_its_settings():
    from genai_course.gan.toy import (
        COMPARED,
        CURVE_KEYS,
        GENERATOR_STEPS,
        LONG_GRID,
        generator_steps,
        load_comparison_table,
    )

    shipped = load_comparison_table()
    rows, meta, curves = shipped["rows"], shipped["meta"], shipped["curves"]
    assert set(rows) == {(mix, method) for mix in GENERATOR_STEPS for method in COMPARED}
    assert "toy_comparison" in meta["made_by"] and meta["seed"] == 0
    for (mix, method), row in rows.items():
        cfg, _ = method_config(method, steps=1)
        # the stated budget: equal generator steps; WGAN-GP's critic takes 5 steps for each
        assert row["generator_steps"] == generator_steps(method, mix) == GENERATOR_STEPS[mix]
        assert row["d_updates"] == row["generator_steps"] * cfg.n_critic and row["lr"] == cfg.lr_g
        n = 8 if mix == "ring" else 25
        assert 0 <= row["modes"] <= row["modes_any"] <= n and 0.0 <= row["high_quality"] <= 1.0
        curve = curves[f"{mix}/{method}"]
        assert set(curve) == set(CURVE_KEYS) and curve["steps"][-1] == row["generator_steps"]
        assert curve["modes"][-1] == row["modes"] and len(curve["shares"][-1]) == n
    assert generator_steps("wgan-gp", "ring") == generator_steps("vanilla", "ring")
    # the longer grid runs: the stated methods, the same steps for each, the rate decayed
    long_grid = shipped["long_grid"]
    assert set(long_grid) == set(LONG_GRID["methods"])
    for method, row in long_grid.items():
        assert row["mixture"] == "grid" and row["lr_decay"] is LONG_GRID["lr_decay"]
        assert row["generator_steps"] == LONG_GRID["generator_steps"] > GENERATOR_STEPS["grid"]
        assert 0 <= row["modes"] <= row["modes_any"] <= 25
        assert curves[f"grid/{method}/long"]["modes"][-1] == row["modes"]
