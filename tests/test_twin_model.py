"""Twin-network models: shapes, initialisation, head symmetry (tiny inputs, CPU)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.torch

from corrclust.twin.model import ModelConfig, PaperHead, SymmetricHead, build_model  # noqa: E402
from corrclust.twin.resnet import resnet18_1d, resnet18_2d  # noqa: E402


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_resnet18_2d_shape_and_size(channels):
    torch.manual_seed(0)
    net = resnet18_2d(channels).eval()
    out = net(torch.rand(2, channels, 40, 33))
    assert out.shape == (2, 512)
    # torchvision's resnet18 has 11,689,512 parameters; without fc (513,000) that is 11,176,512
    # with 3 input channels; each input channel removed takes 64 * 7 * 7 weights off the stem.
    n = sum(p.numel() for p in net.parameters())
    assert n == 11_176_512 - (3 - channels) * 64 * 49


def test_resnet18_1d_shape_and_init():
    torch.manual_seed(0)
    net = resnet18_1d(3).eval()
    assert net(torch.rand(2, 3, 1000)).shape == (2, 512)
    assert isinstance(net.conv1, torch.nn.Conv1d) and net.conv1.kernel_size == (7,)
    assert net.layer2[0].downsample is not None and net.layer1[0].downsample is None
    # Kaiming normal, fan_out, ReLU gain: std = sqrt(2 / (out_channels * kernel))
    w = net.layer4[1].conv2.weight
    expected = (2.0 / (512 * 3)) ** 0.5
    assert abs(float(w.detach().std()) / expected - 1.0) < 0.05
    assert torch.all(net.bn1.weight == 1) and torch.all(net.bn1.bias == 0)


@pytest.mark.parametrize("inp,size,shape", [("image", 32, (3, 2, 32, 32)), ("histogram", 512, (3, 2, 512))])
def test_twin_network_outputs(inp, size, shape):
    torch.manual_seed(0)
    cfg = ModelConfig(input=inp, in_channels=2, input_size=size, head="paper")
    model = build_model(cfg).eval()
    x = torch.rand(*shape)
    assert model.embed(x).shape == (3, 128)
    p = model.probability(x, x.flip(0))
    assert p.shape == (3,) and torch.all((p > 0) & (p < 1))


def test_linear_init_is_the_papers():
    torch.manual_seed(0)
    model = build_model(ModelConfig(in_channels=3, input_size=32))
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(128, 512), (128, 256), (1, 128)]
    for m in linears:
        assert torch.all(m.bias == 0.01)
        fan_out, fan_in = m.weight.shape
        bound = (6.0 / (fan_in + fan_out)) ** 0.5
        assert float(m.weight.detach().abs().max()) <= bound
        assert float(m.weight.detach().abs().max()) > 0.9 * bound  # uniform over the whole range


def test_symmetric_head_is_exactly_order_invariant():
    torch.manual_seed(0)
    head = SymmetricHead(128)
    e1, e2 = torch.randn(50, 128), torch.randn(50, 128)
    assert torch.equal(head(e1, e2), head(e2, e1))
    # element by element too (a batched matmul may round rows differently, so pairwise is only
    # symmetric up to rounding; pair_probabilities mirrors one triangle for symmetric heads)
    for i in range(5):
        for j in range(5):
            assert torch.equal(head(e1[i : i + 1], e1[j : j + 1]), head(e1[j : j + 1], e1[i : i + 1]))


def test_paper_head_is_not_symmetric_and_pairwise_matches_forward():
    torch.manual_seed(0)
    head = PaperHead(128)
    e1, e2 = torch.randn(20, 128), torch.randn(20, 128)
    assert not torch.allclose(head(e1, e2), head(e2, e1))
    pw = head.pairwise(e1, e2)
    direct = torch.stack([head(e1[i].expand(20, -1), e2) for i in range(20)])
    torch.testing.assert_close(pw, direct, rtol=1e-5, atol=1e-5)


def test_symmetric_pairwise_matches_forward():
    torch.manual_seed(1)
    head = SymmetricHead(128)
    e1, e2 = torch.randn(7, 128), torch.randn(9, 128)
    pw = head.pairwise(e1, e2)
    direct = torch.stack([head(e1[i].expand(9, -1), e2) for i in range(7)])
    torch.testing.assert_close(pw, direct, rtol=1e-5, atol=1e-5)


def test_model_config_validation():
    with pytest.raises(ValueError, match="in_channels"):
        ModelConfig(in_channels=4)
    with pytest.raises(ValueError, match="head"):
        ModelConfig(head="cosine")
    with pytest.raises(ValueError, match="input"):
        ModelConfig(input="video")


@pytest.mark.parametrize("head", ["paper", "symmetric"])
def test_pair_list_probabilities_are_the_matrix_entries(head):
    import numpy as np

    from corrclust.twin.predict import pair_list_probabilities, pair_probabilities

    torch.manual_seed(0)
    model = build_model(ModelConfig(in_channels=3, input_size=32, head=head))
    e = torch.randn(12, model.config.embedding_dim)
    P = pair_probabilities(model, e)
    uv = np.array([[0, 1], [2, 7], [3, 11], [5, 6]])
    got = pair_list_probabilities(model, e, uv, batch_size=3)
    want = 0.5 * (P[uv[:, 0], uv[:, 1]] + P[uv[:, 1], uv[:, 0]])  # the mean symmetrisation
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
