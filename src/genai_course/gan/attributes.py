"""An attribute classifier for the procedural faces: the measuring stick for style control.

One small CNN with two heads: regression of the continuous attributes (smile, pose,
hair_length, skin, each scaled to about [-1, 1]) and a 4-way hair-colour classifier.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..data.faces import CONTINUOUS, make_faces, render_faces
from ..utils import progress


@dataclass
class AttributeClassifierConfig:
    channels: tuple = (32, 64, 96)
    n_colors: int = 4


class AttributeClassifier(nn.Module):
    """images (b 3 32 32) in [-1, 1] -> {"smile","pose","hair_length","skin": (b,), "hair_color": (b 4) logits}."""

    def __init__(self, cfg: AttributeClassifierConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or AttributeClassifierConfig()
        layers, c = [], 3
        for c_next in cfg.channels:
            layers += [
                nn.Conv2d(c, c_next, 3, padding=1),
                nn.BatchNorm2d(c_next),
                nn.ReLU(),
                nn.Conv2d(c_next, c_next, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2),
            ]
            c = c_next
        self.body = nn.Sequential(*layers, nn.Flatten(), nn.Linear(c * 16, 128), nn.ReLU())
        self.regress = nn.Linear(128, len(CONTINUOUS))
        self.color = nn.Linear(128, cfg.n_colors)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1:] != (3, 32, 32):
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"images must be (b 3 32 32) in [-1, 1], got {got}")
        return self.body(x)

    def forward(self, x: torch.Tensor) -> dict:
        h = self.features(x)
        reg = self.regress(h)
        out = {name: _from_target(name, reg[:, i]) for i, name in enumerate(CONTINUOUS)}
        out["hair_color"] = self.color(h)
        return out


# hair_length and skin live in [0, 1]; map them to [-1, 1] for the regression targets
def _to_target(name: str, v: torch.Tensor) -> torch.Tensor:
    return v * 2 - 1 if name in ("hair_length", "skin") else v


def _from_target(name: str, v: torch.Tensor) -> torch.Tensor:
    return (v + 1) / 2 if name in ("hair_length", "skin") else v


def attribute_loss(out: dict, attrs: dict) -> torch.Tensor:
    reg = sum(F.mse_loss(_to_target(n, out[n]), _to_target(n, attrs[n].to(out[n].device))) for n in CONTINUOUS)
    return reg + F.cross_entropy(out["hair_color"], attrs["hair_color"].to(out["hair_color"].device))


@torch.no_grad()
def predict_attributes(model: AttributeClassifier, images: torch.Tensor, batch_size: int = 512) -> dict:
    """Predicted attributes for (b 3 32 32) images: continuous values and ``hair_color`` class ids."""
    model.eval()
    dev = next(model.parameters()).device
    outs = [model(images[i : i + batch_size].to(dev)) for i in range(0, len(images), batch_size)]
    res = {n: torch.cat([o[n] for o in outs]).cpu() for n in CONTINUOUS}
    res["hair_color_probs"] = torch.cat([o["hair_color"].softmax(-1) for o in outs]).cpu()
    res["hair_color"] = res["hair_color_probs"].argmax(-1)
    return res


def evaluate_attributes(model: AttributeClassifier, n: int = 2000, seed: int = 123) -> dict:
    """Mean absolute error per continuous attribute and hair-colour accuracy on fresh faces."""
    faces = make_faces(n, seed=seed)
    pred = predict_attributes(model, faces.images)
    res = {f"mae_{k}": float((pred[k] - faces.attrs[k]).abs().mean()) for k in CONTINUOUS}
    res["hair_color_accuracy"] = float((pred["hair_color"] == faces.attrs["hair_color"]).float().mean())
    return res


def train_attribute_classifier(
    n_train: int = 20000, steps: int = 2000, batch_size: int = 128, lr: float = 2e-3, seed: int = 0, device="cpu"
) -> AttributeClassifier:
    torch.manual_seed(seed)
    faces = make_faces(n_train, seed=seed)
    model = AttributeClassifier().to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    gen = torch.Generator("cpu").manual_seed(seed)
    images = faces.images.to(device)
    for _ in progress(range(steps), desc="attribute classifier"):
        idx = torch.randint(n_train, (batch_size,), generator=gen)
        x = images[idx.to(device)]
        x = x + 0.03 * torch.randn_like(x)  # mild noise: robust to generator artefacts
        loss = attribute_loss(model(x), {k: v[idx] for k, v in faces.attrs.items()})
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return model.eval()


@torch.no_grad()
def template_smile(
    images: torch.Tensor, attrs: dict, grid: int = 11, rows: tuple = (17, 28), half_width: float = 0.35
) -> torch.Tensor:
    """A pixel-level smile reading (b,) by analysis by synthesis, independent of the classifier's smile head.

    For each image, redraw the procedural face with the given ``pose``, ``hair_length``,
    ``hair_color`` and ``skin`` (e.g. the classifier's readings) at ``grid`` smiles from −1 to 1,
    and keep the smile whose mouth region (image rows ``rows``, columns within ``half_width`` of
    the mouth centre) is nearest in squared pixel distance. A classifier can be pushed to a high
    smile score by changes a person would not call a smile; a drawn mouth has to actually bend.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1:] != (3, 32, 32):
        raise ValueError(f"images must be (b 3 32 32) in [-1, 1], got {getattr(images, 'shape', type(images))}")
    b = len(images)
    missing = [k for k in ("pose", "hair_length", "hair_color", "skin") if k not in attrs]
    if missing:
        raise ValueError(f"attrs is missing {missing}")
    a = {k: torch.as_tensor(attrs[k]).cpu() for k in ("pose", "hair_length", "hair_color", "skin")}
    a["bg"] = torch.zeros(b)  # the mouth lies inside the face: the background does not matter there
    images = images.cpu()
    xs = (torch.arange(32) + 0.5) / 32 * 2 - 1
    mouth_x = (0.18 + 0.16) * a["pose"].float()  # face centre 0.18·pose, features shifted by 0.16·pose more
    cols = ((xs[None] - mouth_x[:, None]).abs() <= half_width).float()  # (b 32)
    smiles = torch.linspace(-1, 1, grid)
    errs = []
    for s in smiles:
        t = render_faces({**a, "smile": torch.full((b,), float(s))})
        d = (t - images)[:, :, rows[0] : rows[1]].pow(2).sum(1)  # (b h 32)
        errs.append((d * cols[:, None]).sum((1, 2)))
    return smiles[torch.stack(errs, 1).argmin(1)]
