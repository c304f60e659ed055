"""How a service process sets up the garbage collector once it has built what it serves."""

from __future__ import annotations

import subprocess
import sys


def test_collect_less_often_freezes_what_is_loaded_and_raises_the_young_threshold() -> None:
    script = (
        "import gc\n"
        "from shared.serve import GC_YOUNG_THRESHOLD, collect_less_often\n"
        "before = gc.get_threshold()\n"
        "collect_less_often()\n"
        "after = gc.get_threshold()\n"
        "assert gc.get_freeze_count() > 0, gc.get_freeze_count()\n"
        "assert after == (GC_YOUNG_THRESHOLD, *before[1:]), (before, after)\n"
        "assert GC_YOUNG_THRESHOLD > before[0]\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
