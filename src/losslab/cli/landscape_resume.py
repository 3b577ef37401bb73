"""`losslab landscape --out`: one run per file, a resume that skips training, and what Ctrl-C
says.

The landscape's spec (landscapes/spec.py) holds the trained weights, so it is known only after
training. To resume without training again, the command keeps what training made with the
partial run (store.py's `keep_inputs`), in `out.h5.partial/`:

    weights.pt    the trained state dict (torch.save, written atomically; read back with
                  weights_only=True)
    run.h5        the recorded training path (--directions pca and --plot need it)
    inputs.json   what decides the landscape, known before training: fingerprints of the
                  untrained weights and buffers and of the training data, and the options

A resume compares the inputs first, before any training: different ones are refused at once,
naming the options; equal ones load the weights and the path and go straight to the missing
chunks (the library still checks the full spec). The whole run holds the lock of `out`
(store.py's `exclusive`), so a second copy of the command is refused before it reads anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

import torch

from losslab.cli.model_loading import load_weights
from losslab.cli.network_setup import Setup
from losslab.errors import LosslabError
from losslab.io import atomic_open
from losslab.landscapes.store import keep_inputs, kept_chunks, kept_inputs, partial_folder
from losslab.objectives._fingerprint import data_fingerprint

WEIGHTS_FILE = "weights.pt"
RUN_FILE = "run.h5"
# Inputs that are not options, as a refusal names them.
_NOT_OPTIONS = {
    "initial_weights": "the untrained weights (model, --width, --depth, --seed or --weights)",
    "train_data": "the training data",
}


def landscape_inputs(setup: Setup, options: Mapping[str, Any]) -> dict[str, Any]:
    """What decides the landscape before training, as plain JSON: the untrained weights and
    buffers, the training data and the command's options (by option name)."""
    state = setup.model.state_dict()
    names = hashlib.sha256(json.dumps(list(state)).encode()).hexdigest()
    return {
        "initial_weights": names + data_fingerprint(*state.values()),
        "train_data": data_fingerprint(*setup.data.train),
        **{name: _plain(value) for name, value in options.items()},
    }


def resume_training(out: Path, inputs: Mapping[str, Any], setup: Setup, trains: bool):
    """Load the kept training of `out` into `setup.model`: (True, run or None) when it is kept
    with these inputs, (False, None) when nothing is kept; refuse other inputs at once."""
    kept = kept_inputs(out)
    if kept is None:
        return False, None
    if kept != dict(inputs):
        raise LosslabError(_refusal(out, kept, inputs))
    if not trains:
        return True, None
    folder = partial_folder(out)
    load_weights(setup.model, folder / WEIGHTS_FILE)
    from losslab.training import TrainingRun

    return True, TrainingRun.load(folder / RUN_FILE)


def keep_training(out: Path, inputs: Mapping[str, Any], setup: Setup, run) -> None:
    """Keep the trained weights and path (when trained) and the inputs with the partial run."""

    def write(folder: Path) -> None:
        if run is None:
            return
        with atomic_open(folder / WEIGHTS_FILE, "wb") as handle:
            torch.save(setup.model.state_dict(), handle)
        run.save(folder / RUN_FILE)

    keep_inputs(out, inputs, write)


def interrupted_line(out: Path | None) -> str:
    """What Ctrl-C says: what of the run is kept for the same command to resume."""
    if out is None:
        return "interrupted"
    folder = partial_folder(out)
    counts = kept_chunks(out)
    if counts is not None:
        done, total = counts
        return (
            f"interrupted; {done} of {total} chunks kept in {folder}, run the same command "
            "to resume"
        )
    if (folder / "inputs.json").is_file():
        return f"interrupted; the training is kept in {folder}, run the same command to resume"
    return "interrupted; nothing kept"


def _refusal(out: Path, kept: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
    folder = partial_folder(out)
    changed = []
    for key in sorted(set(kept) | set(inputs)):
        if kept.get(key) == inputs.get(key):
            continue
        if key in _NOT_OPTIONS:
            changed.append(_NOT_OPTIONS[key])
        else:
            option = "--" + key.replace("_", "-")
            changed.append(f"{option} {_shown(kept.get(key))} (now {_shown(inputs.get(key))})")
    return (
        f"'{folder}' holds a run started with other inputs: {'; '.join(changed)}. Run that "
        f"command to resume it, or choose a new --out or delete '{folder}' to compute this one."
    )


def _shown(value: Any) -> str:
    return "(default)" if value is None else json.dumps(value)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    return value
