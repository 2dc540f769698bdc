"""Headless Chromium over the DevTools protocol, on a pipe (no network port, no extra package).

Used by the explorer's tests, its benchmark and the README screenshot script to open
a page, run JavaScript in it and take screenshots. Chromium reads protocol messages
from file descriptor 3 and writes them to 4 (``--remote-debugging-pipe``), each a
JSON object ended by a NUL byte.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from transfer_sim.errors import TransferSimError

__all__ = ["Chromium", "find_chromium", "CHROMIUM_FLAGS"]

#: Flags that keep a headless run offline and quiet.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                  "--mute-audio")


def find_chromium() -> str | None:
    """Return the path of a Chromium-like browser, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class Chromium:
    """One headless browser with one page.

    Parameters
    ----------
    executable : str, optional
        Browser binary; :func:`find_chromium` by default.
    width, height : int
        Window size in CSS pixels.
    """

    def __init__(self, executable: str | None = None, *, width: int = 1400, height: int = 1000):
        exe = executable or find_chromium()
        if exe is None:
            raise TransferSimError("chromium is not installed (apt-get install chromium)")
        self._profile = tempfile.TemporaryDirectory(prefix="ts-chromium-")
        to_child, self._out = os.pipe()
        self._in, from_child = os.pipe()

        def fds() -> None:  # in the child: its fd 3 reads our messages, fd 4 writes its own
            read, write = os.dup(to_child), os.dup(from_child)   # clear of 3 and 4
            os.dup2(read, 3)
            os.dup2(write, 4)

        cmd = [exe, *CHROMIUM_FLAGS, "--remote-debugging-pipe",
               f"--user-data-dir={self._profile.name}", f"--window-size={width},{height}",
               "about:blank"]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, preexec_fn=fds,  # noqa: PLW1509
                                      pass_fds=(3, 4))
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank", session=False)
        attached = self.call("Target.attachToTarget", targetId=target["targetId"], flatten=True,
                             session=False)
        self._session = attached["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._in], [], [], left)[0]:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise TransferSimError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(raw)

    def call(self, method: str, *, session: bool = True, timeout: float = 60,
             **params: Any) -> dict[str, Any]:
        """Send one protocol command and return its result (events are kept in ``events``)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = self._session
        os.write(self._out, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read(timeout)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise TransferSimError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def evaluate(self, expression: str, *, timeout: float = 60) -> Any:
        """Evaluate JavaScript in the page (promises awaited) and return its JSON value."""
        result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True,
                           returnByValue=True, timeout=timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise TransferSimError(f"JavaScript error: {text}")
        return result["result"].get("value")

    def open(self, url: str, *, ready: str = "document.readyState === 'complete'",
             timeout: float = 60) -> None:
        """Load ``url`` in a fresh document and wait until ``ready`` is true."""
        self.call("Page.navigate", url="about:blank")
        self.wait_for("location.href === 'about:blank'", timeout=timeout)
        self.call("Page.navigate", url=url)
        self.wait_for(f"location.href !== 'about:blank' && ({ready})", timeout=timeout)

    def wait_for(self, expression: str, *, timeout: float = 60) -> Any:
        """Poll ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = self.evaluate(f"(() => {{ try {{ return {expression}; }} "
                                      f"catch (e) {{ return false; }} }})()")
            except TransferSimError:
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {expression}")
            time.sleep(0.05)

    def screenshot(self, path: str | Path, *, full_page: bool = False) -> Path:
        """Save a PNG of the page (the viewport, or all of it)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            metrics = self.call("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size["width"],
                                "height": size["height"], "scale": 1})
        data = self.call("Page.captureScreenshot", **params)["data"]
        out = Path(path)
        out.write_bytes(base64.b64decode(data))
        return out

    def close(self) -> None:
        """End the browser (it was started by this object) and remove its profile."""
        if self._proc.poll() is None:
            try:
                self.call("Browser.close", session=False, timeout=5)
            except (TransferSimError, TimeoutError, OSError):
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        for fd in (self._in, self._out):
            try:
                os.close(fd)
            except OSError:
                pass
        self._profile.cleanup()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
