"""Animations: the model (what moves per frame), the one-draw renderer and the MP4/GIF writers,
read back with imageio. Small: 160x120 pixels, a few frames, coarse grids."""

from __future__ import annotations

import imageio.v3 as iio
import numpy as np
import pytest

import losslab
from losslab.errors import LosslabError
from losslab.landscapes.grid import evaluate_grid
from losslab.plot import animation, backend_plotly, video
from losslab.plot.frames import FrameRenderer, render_frames
from losslab.plot.scene import Camera, Path

W, H = 160, 120


@pytest.fixture(scope="module")
def bowl():
    return evaluate_grid(losslab.surface("himmelblau"), resolution=15)


@pytest.fixture(scope="module")
def raced():
    surface = losslab.surface("himmelblau")
    optimizers = [losslab.optim.from_spec(s, lr=0.01) for s in ("gd", "momentum")]
    return losslab.race(surface, optimizers, (0.0, 0.0), 60)


@pytest.fixture(scope="module")
def labelled_race():
    """Three runs labelled as `losslab animate race` labels them: long labels, once converged
    ('adam(lr=0.05, betas=(0.9, 0.999), eps=1e-08): converged in 442 steps')."""
    surface = losslab.surface("himmelblau")
    specs = ("gd:lr=0.01", "momentum:lr=0.01", "adam:lr=0.05")
    return losslab.race(surface, [losslab.optim.from_spec(s) for s in specs], (0.0, 0.0), 500)


def test_mp4_and_gif_read_back_with_their_frames_rate_and_size(bowl, tmp_path):
    calls = []
    paths = video.save_animation(
        animation.surface_animation(bowl, 6),
        [tmp_path / "a.mp4", tmp_path / "a.gif"],
        fps=10,
        width=W,
        height=H,
        progress=lambda done, total: calls.append((done, total)),
    )
    # rendered once for both formats: one call per frame, not two
    assert calls == [(i, 6) for i in range(1, 7)]
    mp4, gif = (iio.imread(p) for p in paths)
    assert mp4.shape == gif.shape == (6, H, W, 3)
    meta = iio.immeta(paths[0])
    assert meta["codec"] == "h264" and meta["fps"] == 10 and meta["duration"] == pytest.approx(0.6)
    assert meta["pix_fmt"].startswith("yuv420p")
    gif_meta = iio.immeta(paths[1])
    assert gif_meta["duration"] == 100 and gif_meta["loop"] == 0
    # GIF keeps the pixels closely (a palette of 256 per frame); the MP4 is lossy
    frames = render_frames(animation.surface_animation(bowl, 6), W, H)
    assert np.abs(gif.astype(int) - frames).mean() < 4
    assert np.abs(mp4.astype(int) - frames).mean() < 12


def test_the_camera_turns_from_frame_to_frame_at_the_exact_size(bowl):
    anim = animation.surface_animation(bowl, 8)
    renderer = FrameRenderer(anim, W, H)
    first, second = renderer.frame(0), renderer.frame(1)
    assert first.shape == second.shape == (H, W, 3) and first.dtype == np.uint8
    assert (first != second).any(axis=-1).mean() > 0.05
    ax = renderer.axes["losslab-panel-0"]
    assert ax.azim == pytest.approx(anim.cameras[0][1][1, 1])
    # a full turn: the last view is one step short of the first (the file loops smoothly)
    views = animation.turntable(8)
    assert views[-1, 1] - views[0, 1] == pytest.approx(360 * 7 / 8)


def test_the_race_reveals_its_paths_and_ends_with_them_whole(bowl, raced):
    anim = animation.race_animation(bowl, raced, 10, log=True)
    renderer = FrameRenderer(anim, W, H)

    def shown(ax):
        return [
            len(line.get_xdata()) for line in ax.get_lines() if line.get_gid() == "losslab-path"
        ]

    def ends(ax):
        return [line.get_visible() for line in ax.get_lines() if line.get_gid() == "losslab-end"]

    plane, surface = renderer.axes["losslab-panel-0"], renderer.axes["losslab-panel-1"]
    whole = anim.scene.panels[0].find(Path, "path")
    lengths = [len(item.x) for item in whole]
    assert len(whole) == 2 and min(lengths) > 10
    renderer.frame(0)
    assert shown(plane) == [1, 1] and not any(ends(plane))
    renderer.frame(4)
    middle = shown(plane)
    assert all(n > 1 for n in middle) and middle != lengths
    renderer.frame(9)
    assert shown(plane) == lengths and all(ends(plane))
    # the 3-D panel shows the same paths, and its camera has turned a quarter round
    assert [
        len(line.get_data_3d()[0])
        for line in surface.get_lines()
        if line.get_gid() == "losslab-path"
    ] == lengths
    assert surface.azim == pytest.approx(-60 + 90)
    drawn = [line for line in plane.get_lines() if line.get_gid() == "losslab-path"]
    for line, item in zip(drawn, whole, strict=True):
        np.testing.assert_array_equal(line.get_xydata(), np.column_stack([item.x, item.y]))


@pytest.mark.parametrize("width, height, tallest", [(640, 480, 0.4), (480, 480, 0.3)])
def test_the_race_fills_its_frame_and_keeps_everything_inside_it(
    bowl, labelled_race, width, height, tallest
):
    """The defect: at 640x480 the panels took a third of the height and the runs' legend,
    wider than its panel, ran off the frame's left edge. Now the legend is inside the frame,
    each panel takes >= 40% of its height (a square frame stacks them: >= 30% each, beside
    the title and the legend), and as the 3-D panel turns no panel, tick label or colour bar
    leaves the frame or runs into another."""
    renderer = FrameRenderer(animation.race_animation(bowl, labelled_race, 5), width, height)
    figure = renderer.figure
    (legend,) = figure.legends + [ax.get_legend() for ax in figure.axes if ax.get_legend()]
    assert [t.get_text().endswith("steps") for t in legend.get_texts()] == [True] * 3
    assert _inside(legend.get_window_extent(renderer.canvas.get_renderer()), figure.bbox)
    panels = [renderer.axes[f"losslab-panel-{i}"] for i in (0, 1)]
    assert min(ax.get_position().height for ax in panels) >= tallest

    for i in (0, 2, 4):
        renderer.frame(i)
        drawn = renderer.canvas.get_renderer()
        boxes = [ax.get_tightbbox(drawn) for ax in figure.axes]  # panels and colour bar
        assert all(_inside(box, figure.bbox) for box in boxes), (i, boxes)
        turning = panels[1].get_tightbbox(drawn)
        others = [b for ax, b in zip(figure.axes, boxes, strict=False) if ax is not panels[1]]
        assert not any(turning.overlaps(box) for box in others), i


def _inside(box, outer, slack=1.0) -> bool:
    """Whether a Bbox lies within another, give or take `slack` pixels."""
    return (
        box.x0 >= outer.x0 - slack
        and box.y0 >= outer.y0 - slack
        and box.x1 <= outer.x1 + slack
        and box.y1 <= outer.y1 + slack
    )


def test_an_interrupted_render_leaves_no_file_and_keeps_an_old_one(bowl, tmp_path):
    old = tmp_path / "a.gif"
    old.write_bytes(b"the old file")

    def stop(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        video.save_animation(
            animation.surface_animation(bowl, 4),
            [old, tmp_path / "b.mp4"],
            width=W,
            height=H,
            progress=stop,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gif"]
    assert old.read_bytes() == b"the old file"


def test_an_interrupted_encoding_leaves_no_file(monkeypatch, tmp_path):
    def half_written(frames, path, fps):
        path.write_bytes(b"half a video")
        raise KeyboardInterrupt

    monkeypatch.setattr(video, "write_mp4", half_written)
    frames = np.zeros((2, H, W, 3), dtype=np.uint8)
    with pytest.raises(KeyboardInterrupt):
        video.write_frames(frames, tmp_path / "a.mp4", 25)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (lambda: video.parse_size("641x480"), "must be even"),
        (lambda: video.parse_size("640by480"), "WIDTHxHEIGHT"),
        (lambda: video.parse_size("8x8"), "allowed 16 to 3840"),
        (lambda: video.check_video(0, 25, 640, 480), "--frames 0"),
        (lambda: video.check_video(10, 0, 640, 480), "--fps 0"),
        (lambda: video.check_video(3000, 25, 3840, 2160), "GiB"),
        (lambda: video.check_outputs(["a.avi"]), ".mp4 or .gif"),
        (lambda: video.check_outputs(["a.mp4", "./a.mp4"]), "same file"),
        (lambda: video.check_outputs([]), "at least one"),
    ],
)
def test_bad_video_options_are_one_line(check, message):
    with pytest.raises(LosslabError, match=message) as error:
        check()
    assert "\n" not in str(error.value)


def test_a_bad_suffix_is_refused_before_any_frame(bowl, tmp_path):
    calls = []
    with pytest.raises(LosslabError, match="not '.webm'"):
        video.save_animation(
            animation.surface_animation(bowl, 3),
            [tmp_path / "a.mp4", tmp_path / "a.webm"],
            progress=lambda *a: calls.append(a),
        )
    assert calls == [] and list(tmp_path.iterdir()) == []


def test_a_panel_camera_is_drawn_by_both_backends(bowl):
    from dataclasses import replace

    from losslab.plot import backend_mpl, build

    scene = build.surface_scene(bowl)
    camera = Camera(elevation=50.0, azimuth=20.0)
    turned = replace(scene, panels=(replace(scene.panel, camera=camera),))
    ax = backend_mpl.draw(turned).axes[0]
    assert (ax.elev, ax.azim) == (50.0, 20.0)
    eye = backend_plotly.draw(turned).layout.scene.camera.eye
    e, a = np.radians(50.0), np.radians(20.0)
    direction = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
    np.testing.assert_allclose([eye.x, eye.y, eye.z], 2.2 * direction)
    # the default camera is matplotlib's default view, as plotly's default eye is
    default = np.array(list(Camera().eye().values()))
    np.testing.assert_allclose(default, [0.95, -1.65, 1.1], atol=0.01)
    # zoom: the eye that much closer; matplotlib's box that much larger
    closer = np.array(list(Camera(zoom=2.0).eye().values()))
    np.testing.assert_allclose(closer, default / 2)
