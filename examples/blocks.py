"""Building blocks, in their own file: my_net.py imports this as a sibling module (the CLI
puts the model file's folder first on sys.path while it loads)."""

from torch import nn


def mlp(*widths: int) -> nn.Sequential:
    """Linear layers of the given widths with tanh between them: mlp(2, 16, 3)."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(n_in, n_out), nn.Tanh()]
    return nn.Sequential(*layers[:-1])  # no activation after the logits
