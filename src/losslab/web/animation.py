"""What the browser's animation player needs: plain JSON, built on the server.

The player (assets/losslab.js) moves traces with `Plotly.animate(..., {redraw: false})` in a
requestAnimationFrame loop; it never asks the server for a frame. A spec says which graph,
which traces, their full data, how long to play and what the scoreboard shows at each step:

    {"graph": id, "token": n, "mode": "2d" | "3d", "n_frames": k, "frame": shown now,
     "duration_ms": ms, "autoplay": bool, "run_from": frame the Run button plays from,
     "tracks": [...], "board": {...} | None,
     "on_done": {"store": id, "data": ...} | None}

A track is {"index": trace, "role": "path" | "end" | "head" | "segment", "x": [...],
"y": [...], ["z": [...]]}: at frame f a path shows its points 0..min(f, n - 1), an end marker
appears once f reaches its last point, a head is the point at min(f, n - 1), a segment is the
f-th of a list of two-point segments. An end track also has "n", its run's length.
`token` equals the figure's `layout.datarevision`, so the player starts only once the figure
it animates is on screen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from losslab import dust
from losslab.plot._runs import Run


def _list(values) -> list:
    return np.asarray(values, dtype=np.float64).tolist()


def _shown(values) -> list:
    """A scoreboard column as the browser prints it: float dust (|v| <= 1e-12,
    `losslab.dust.ATOL`) as 0, so a Newton step to the origin reads 0, not 2.8e-16."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.abs(values) <= dust.ATOL, 0.0, values).tolist()


def path_track(index: int, x, y, z=None) -> dict:
    track = {"index": index, "role": "path", "x": _list(x), "y": _list(y)}
    if z is not None:
        track["z"] = _list(z)
    return track


def end_track(index: int, x, y, z=None, *, n: int) -> dict:
    """The end marker of a run of `n` points: hidden until the animation reaches frame n - 1."""
    track = {"index": index, "role": "end", "n": int(n), "x": _list(x), "y": _list(y)}
    if z is not None:
        track["z"] = _list(z)
    return track


def head_track(index: int, x, y) -> dict:
    return {"index": index, "role": "head", "x": _list(x), "y": _list(y)}


def segment_track(index: int, x0, y0, x1, y1) -> dict:
    """One segment per frame, from (x0, y0) to (x1, y1) (e.g. the tangent at each step)."""
    return {
        "index": index,
        "role": "segment",
        "x0": _list(x0),
        "y0": _list(y0),
        "x1": _list(x1),
        "y1": _list(y1),
    }


def board_row(run: Run, columns: Sequence[Sequence[float]], *, reached: int | None = None) -> dict:
    """A scoreboard row: the run's colour and label, a value per column per step, the final
    status, and the step at which it reached a minimum (None if it never did)."""
    return {
        "label": run.label,
        "colour": run.colour,
        "n": len(run.losses),
        "values": [_shown(column) for column in columns],
        "final": run.ending_text,
        "diverged": run.diverged,
        "reached": reached,
    }


def board(
    board_id: str, titles: Sequence[str], rows: Sequence[dict], banner=None, *, cards=False
) -> dict:
    """Per run: step, one value per title, status; as table rows, or as cards for a narrow
    side panel. banner: {"text", "step"} shown once the animation passes `step` (None: at the
    end)."""
    return {
        "id": board_id,
        "titles": list(titles),
        "rows": list(rows),
        "banner": banner,
        "layout": "cards" if cards else "table",
    }


def duration_ms(n_steps: int, *, per_step: float = 20.0, low: float = 900, high: float = 4000):
    """How long a replay lasts: `per_step` ms a step, within [low, high]."""
    return float(min(high, max(low, per_step * n_steps)))


def spec(
    graph: str,
    token: int,
    tracks: Sequence[dict],
    n_frames: int,
    *,
    duration: float,
    autoplay: bool = False,
    frame: int | None = None,
    run_from: int = 0,
    mode: str = "2d",
    board: dict | None = None,
    on_done: dict | None = None,
    on_start: dict | None = None,
) -> dict:
    """on_done: {"store", "data"} set when the player finishes; on_start: {"id", "props"} set
    on a component when Run starts it (a message that stays true while it plays)."""
    return {
        "graph": graph,
        "token": token,
        "mode": mode,
        "n_frames": int(n_frames),
        "frame": int(n_frames - 1 if frame is None else frame),
        "duration_ms": float(duration),
        "autoplay": bool(autoplay),
        "run_from": int(run_from),
        "tracks": list(tracks),
        "board": board,
        "on_done": on_done,
        "on_start": on_start,
    }
