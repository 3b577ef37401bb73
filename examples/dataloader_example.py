"""A loss landscape and the top Hessian eigenvalues of your own model over a torch DataLoader,
in Python (run make_data.py first):

    python dataloader_example.py

ModelObjective takes the model, the loss and the data: (X, y) tensors or a DataLoader of
(inputs, targets) batches. It evaluates with the model in eval mode, at the model's weights,
in batches of `eval_batch_size` samples (here 50, to show it; left out, as many as a memory
budget allows); the sums are exact, so any batch size gives the same numbers. A DataLoader
of dict batches takes batch_fn=, a model that returns a dict output_fn= (see the README).
"""

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

import losslab as ll

from my_net import make


def main() -> None:
    arrays = np.load("my_data.npz")
    dataset = TensorDataset(torch.from_numpy(arrays["X"]), torch.from_numpy(arrays["y"]))
    loader = DataLoader(dataset, batch_size=64)  # any DataLoader of (inputs, targets)

    model = make()
    model.load_state_dict(torch.load("my_net.pt", weights_only=True))
    objective = ll.ModelObjective(model, "cross_entropy", loader, eval_batch_size=50)

    directions = ll.directions.random(objective, n=2, normalization="filter", seed=0)
    landscape = ll.landscape(objective, directions, span=1.0, resolution=11, out="loader.h5")
    top = ll.curvature.eigenvalues(objective, k=3)
    gauss_newton = ll.curvature.eigenvalues(objective, k=3, kind="ggn")
    top.save("loader_top.json")
    print(objective)
    print(landscape)
    print(top)
    print(gauss_newton)
    print("wrote loader.h5 and loader_top.json")


if __name__ == "__main__":
    main()
