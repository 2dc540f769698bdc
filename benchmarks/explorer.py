"""Benchmark the explorer page: slider move -> redrawn charts, in headless Chromium.

Writes the page (`transfer-sim explore`, the headline presets by default), opens it in
headless Chromium over the DevTools pipe and moves sliders N times. For each move it
records, from the slider's ``input`` event on:

- **update**: until the page has run the model, redrawn every chart and the indicator
  table, and laid the page out (synchronous, measured in the page);
- **to next frame**: until the browser has produced the next frame after that
  (``requestAnimationFrame`` then a task), which adds the wait for the frame clock;
- **model run**: the WebAssembly run alone.

Prints median, 90th percentile and maximum of each, and the file size. The goal is an
update under 50 ms; it is measured, never asserted in tests.

Usage::

    python benchmarks/explorer.py [--moves 200] [--screenshot docs/explorer.png]

``--screenshot`` also saves the README's picture of the page (policy-as-written with
the special fund at 60 亿元 a year and a 0.08 元/kWh power discount).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

from transfer_sim.cli import main as cli
from transfer_sim.report.chromium import Chromium

#: (lever, values) the benchmark's slider moves cycle through.
MOVES = (("special_fund", (10, 45, 80, 120, 160)), ("power_discount", (0.01, 0.05, 0.09)),
         ("land_discount", (0.1, 0.35, 0.6)), ("approval_delay", (0.3, 1.2, 2.5)))
SCREENSHOT_FRAGMENT = "#preset=policy-as-written&power_discount=0.08&special_fund=60"

MOVE_JS = """(async (name, value) => {
  const s = document.querySelector(`input[type=range][name=${name}]`);
  const t0 = performance.now();
  s.value = String(value);
  s.dispatchEvent(new Event('input'));
  const t1 = performance.now();
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const t2 = performance.now();
  s.dispatchEvent(new Event('change'));
  return [t1 - t0, t2 - t0, explorer.last.model];
})"""


def _stats(label: str, values: list[float]) -> str:
    q = statistics.quantiles(values, n=10)
    return (f"  {label:<15} median {statistics.median(values):6.1f} ms   p90 {q[-1]:6.1f} ms   "
            f"max {max(values):6.1f} ms")


def measure(page: Path, moves: int) -> dict[str, list[float]]:
    """Move sliders ``moves`` times and return the three timings per move [ms]."""
    out: dict[str, list[float]] = {"update": [], "to next frame": [], "model run": []}
    with Chromium(width=1400, height=1000) as browser:
        browser.open(page.as_uri() + "#preset=policy-as-written",
                     ready="document.body.dataset.state === 'ready'")
        for i in range(moves + 10):
            name, values = MOVES[i % len(MOVES)]
            value = values[(i // len(MOVES)) % len(values)]
            sync, frame, model = browser.evaluate(f"{MOVE_JS}('{name}', {value})")
            if i >= 10:                      # the first moves warm the JIT up
                out["update"].append(sync)
                out["to next frame"].append(frame)
                out["model run"].append(model)
    return out


def screenshot(page: Path, path: Path) -> None:
    """Save the README's screenshot of the real page."""
    with Chromium(width=1400, height=1000) as browser:
        # Open without the fund's change, then move its slider, so that the timing shown
        # is a slider move's, not the first update's.
        browser.open(page.as_uri() + SCREENSHOT_FRAGMENT.replace("&special_fund=60", ""),
                     ready="document.body.dataset.state === 'ready'")
        for _ in range(5):
            browser.evaluate(f"{MOVE_JS}('special_fund', 60)")
        hash_ = browser.evaluate("location.hash")
        if hash_ != SCREENSHOT_FRAGMENT:
            raise SystemExit(f"unexpected state {hash_}")
        browser.screenshot(path)
    print(f"wrote {path} ({path.stat().st_size / 1e3:.0f} kB)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--moves", type=int, default=200, help="slider moves measured")
    parser.add_argument("--screenshot", type=Path, help="also save a PNG of the page here")
    parser.add_argument("scenarios", nargs="*", help="presets (default: the headline ones)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "explorer.html"
        if cli(["explore", *args.scenarios, "-o", str(page)]) != 0:
            return 2
        size = page.stat().st_size
        if args.screenshot is not None:
            screenshot(page, args.screenshot)
        timings = measure(page, args.moves)
    print(f"explorer page: {size / 1e6:.2f} MB ({size:,} bytes); {args.moves} slider moves in "
          f"headless Chromium; {date.today()}, {platform.python_version()}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    for label, values in timings.items():
        print(_stats(label, values))
    median = statistics.median(timings["update"])
    print(f"goal: update under 50 ms -> {'met' if median < 50 else 'NOT met'} "
          f"(median {median:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
