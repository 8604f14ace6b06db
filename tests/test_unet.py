import pytest
import torch

from genai_course.nn.unet import UNet, UNetConfig, timestep_embedding


def small(**kw):
    return UNet(UNetConfig(base_channels=16, **kw))


@pytest.mark.parametrize("shape", [(1, 1, 16, 16), (3, 1, 8, 12), (2, 1, 4, 20), (2, 1, 32, 16)])
def test_shapes_odd_inputs(shape):
    net = small()
    out = net(torch.randn(shape), torch.randint(0, 1000, (shape[0],)))
    assert out.shape == shape


def test_scalar_t_and_channels():
    net = small(in_channels=3, out_channels=2, channel_mults=(1, 2), attn_levels=(1,), num_res_blocks=2)
    assert net(torch.randn(2, 3, 6, 10), 5).shape == (2, 2, 6, 10)


def test_sizes_it_cannot_take():
    net = small()
    with pytest.raises(ValueError, match="divisible by 2\\*\\*\\(levels-1\\) = 4"):
        net(torch.randn(1, 1, 15, 16), torch.zeros(1, dtype=torch.long))
    with pytest.raises(ValueError, match=r"x: expected shape \(b c=1 h w\), got \(1, 3, 16, 16\)"):
        net(torch.randn(1, 3, 16, 16), torch.zeros(1))
    with pytest.raises(ValueError, match="t of shape"):
        net(torch.randn(2, 1, 16, 16), torch.zeros(3))
    with pytest.raises(ValueError, match="no class conditioning"):
        net(torch.randn(2, 1, 16, 16), torch.zeros(2), y=torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="groups"):
        UNet(UNetConfig(base_channels=12, groups=8))


def test_class_conditioning_changes_output_and_null_label():
    net = small(n_classes=10)
    for p in net.out.parameters():  # the zero-initialised head would hide any difference
        torch.nn.init.normal_(p)
    x, t = torch.randn(2, 1, 16, 16), torch.tensor([10, 10])
    a = net(x, t, y=torch.tensor([1, 1]))
    b = net(x, t, y=torch.tensor([2, 2]))
    assert not torch.allclose(a, b)
    assert torch.allclose(net(x, t), net(x, t, y=torch.tensor([10, 10])))  # y=None is the null label
    with pytest.raises(ValueError, match="labels"):
        net(x, t, y=torch.tensor([11, 0]))


def test_cross_attention_context():
    net = small(context_dim=24)
    for p in net.out.parameters():
        torch.nn.init.normal_(p)
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([3, 4])
    c1, c2 = torch.randn(2, 5, 24), torch.randn(2, 5, 24)
    assert net(x, t, context=c1).shape == (2, 1, 8, 8)
    assert not torch.allclose(net(x, t, context=c1), net(x, t, context=c2))
    with pytest.raises(ValueError, match=r"context: expected shape \(b=2 s d=24\)"):
        net(x, t, context=torch.randn(2, 5, 7))


def test_timestep_embedding():
    e = timestep_embedding(torch.tensor([0, 1, 999]), 33)
    assert e.shape == (3, 33) and torch.allclose(e[0, :16], torch.ones(16))


def test_attention_residual_does_not_leak_the_normalised_input():
    # with both attention projections zeroed, the block is the identity: x + 0, not x + GN(x) (DDPM, LDM)
    from genai_course.nn.unet import AttentionBlock

    block = AttentionBlock(16, 4, 2, context_dim=None)
    torch.nn.init.zeros_(block.attn.out_proj.weight)
    torch.nn.init.zeros_(block.attn.out_proj.bias)
    x = torch.randn(2, 16, 4, 4) * 3 + 1
    assert torch.equal(block(x), x)


def test_one_block_type_per_level_and_skip_bookkeeping():
    net = small(channel_mults=(1, 2, 4), attn_levels=(1, 2), num_res_blocks=2)
    assert len(net.down) == len(net.up) == 3
    assert [len(level.blocks) for level in net.down] == [2, 2, 2]
    assert [len(level.blocks) for level in net.up] == [3, 3, 3]
    assert [level.downsample is None for level in net.down] == [False, False, True]
    assert [level.upsample is None for level in net.up] == [False, False, True]
    assert [block.attn is not None for block in net.down[0].blocks + net.down[1].blocks] == [False] * 2 + [True] * 2
    assert net(torch.randn(2, 1, 8, 8), torch.tensor([1, 2])).shape == (2, 1, 8, 8)


def test_vector_conditioning_and_its_null():
    net = small(vector_dim=6)
    for p in net.out.parameters():
        torch.nn.init.normal_(p)
    x, t = torch.randn(2, 1, 8, 8), torch.tensor([3, 4])
    v = torch.randn(2, 6)
    assert not torch.allclose(net(x, t, vector=v), net(x, t))
    assert torch.allclose(net(x, t), net(x, t, vector=torch.zeros(2, 6)))  # no vector = the zero vector
    with pytest.raises(ValueError, match=r"vector: expected shape \(b=2 d=6\)"):
        net(x, t, vector=torch.randn(2, 5))
    with pytest.raises(ValueError, match="no vector conditioning"):
        small()(x, t, vector=v)
