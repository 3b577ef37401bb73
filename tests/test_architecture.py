"""The numeric core must import and work without any plotting, web or CLI library."""

import subprocess
import sys

BLOCKED = ["matplotlib", "plotly", "dash", "typer", "rich", "click"]

SCRIPT = f"""
import sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ImportError("blocked for this test: " + name)
sys.meta_path.insert(0, Blocker())
import losslab as ll
t = ll.descend(ll.surface("himmelblau"), ll.optim.newton(), [0.0, 0.0], 20)
assert ll.inspect(ll.surface("saddle"), [0.0, 0.0]).kind == "saddle"
ll.basins(ll.surface("bowl"), ll.optim.gd(0.1), resolution=5, n_steps=5)
ll.evaluate_grid(ll.surface("rosenbrock"), resolution=10)
loaded = [m for m in sys.modules if m.split(".")[0] in {BLOCKED!r}]
assert not loaded, loaded
print("ok")
"""


def test_core_imports_without_plotting_or_cli_libraries():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_importing_losslab_has_no_side_effects_on_plotting():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, losslab; "
            "print(sorted(m for m in sys.modules if m.startswith('losslab.')))",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "losslab.plot" not in result.stdout and "losslab.cli" not in result.stdout
