"""A model factory for the CLI: `losslab landscape --model my_net.py:make ...`.

`make()` takes no arguments and returns the nn.Module; the CLI seeds torch before calling
it and loads --weights into it. This one fits my_data.npz (2 features, 3 classes; see
make_data.py) and builds its layers with the sibling file blocks.py.
"""

from torch import nn

from blocks import mlp

N_FEATURES, N_CLASSES = 2, 3


def make() -> nn.Module:
    """2 -> 16 -> 16 -> 3 logits, tanh between (371 parameters)."""
    return mlp(N_FEATURES, 16, 16, N_CLASSES)
