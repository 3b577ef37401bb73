"""Write my_data.npz (three interleaved spirals: X (N, 2) float32, y (N,) int64 class labels,
with a held-out X_test, y_test) and my_net.pt (the state dict of my_net.make() after a short
training on it), the files the README's command reads:

    python make_data.py
    losslab landscape --model my_net.py:make --weights my_net.pt --data my_data.npz --out mine.h5

Your own data goes in the same shape: numpy.savez(path, X=X, y=y); integer y makes a
classification set (float y a regression one), integer X stays integer (token ids for an
nn.Embedding). Your weights: torch.save(model.state_dict(), path).
"""

import numpy as np
import torch

from my_net import N_CLASSES, make

N_TRAIN, N_TEST, SEED = 200, 60, 0


def spirals(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """n points on N_CLASSES noisy spiral arms; y is the arm."""
    y = rng.integers(0, N_CLASSES, n)
    radius = rng.uniform(0.1, 1.0, n)
    angle = 2 * np.pi * y / N_CLASSES + 3.0 * radius + rng.normal(0, 0.15, n)
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return X.astype(np.float32), y.astype(np.int64)


def train(model: torch.nn.Module, X: np.ndarray, y: np.ndarray, steps: int = 150) -> float:
    """Full-batch Adam on the cross-entropy; returns the final training loss."""
    inputs, targets = torch.from_numpy(X), torch.from_numpy(y)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs), targets)
        loss.backward()
        optimizer.step()
    return loss.item()


def main() -> None:
    torch.set_num_threads(1)  # a model this small trains fastest on one thread
    rng = np.random.default_rng(SEED)
    X, y = spirals(N_TRAIN, rng)
    X_test, y_test = spirals(N_TEST, rng)
    np.savez("my_data.npz", X=X, y=y, X_test=X_test, y_test=y_test)
    torch.manual_seed(SEED)
    model = make()
    loss = train(model, X, y)
    torch.save(model.state_dict(), "my_net.pt")
    print(f"wrote my_data.npz ({N_TRAIN} + {N_TEST} samples) and my_net.pt (loss {loss:.3f})")


if __name__ == "__main__":
    main()
