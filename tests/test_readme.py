"""The README's Python tour runs as written: a stale example is a failing test."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run_and_write_their_files(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 4
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)  # our own README, not user text
    assert namespace["newton"].status == "converged"
    assert namespace["point"].kind == "saddle"
    assert sorted(p.kind for p in namespace["found"]).count("minimum") == 4
    assert (tmp_path / "race.png").stat().st_size > 0
    assert (tmp_path / "himmelblau.html").stat().st_size > 0
