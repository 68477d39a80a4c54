"""Real second virtualenvs for deployments with a `python` or `venv` of their own.

`with_orc` is a fresh venv with this checkout installed the way an editable
install does it: a `.pth` file naming the checkout, plus one naming the test
venv's site-packages for orc's dependencies (building a wheel here would need
the network). `with_old_orc` is a fresh venv whose `orchestrate` is a tiny
stand-in for an older orc: its worker and zygote speak protocol v0 (a real
older release cannot be installed offline), and nothing else of orc is there.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]

OLD_WORKER = """
    import json, socket, sys

    sock = socket.socket(fileno=int(sys.argv[-1]))
    sock.recv(4096)  # the daemon's hello
    hello = {"jsonrpc": "2.0", "method": "hello",
             "params": {"protocol": 0, "orc": "0.0.1", "python": sys.executable}}
    sock.sendall(json.dumps(hello).encode() + b"\\n")
    sock.recv(1 << 20)  # an old worker would now take a spec it may misread
"""

OLD_ZYGOTE = """
    import json, socket, sys

    control = socket.socket(fileno=int(sys.argv[-1]))
    control.recv(1 << 20)  # the preload list
    control.sendall(json.dumps({"op": "ready", "files": [], "error": None, "protocol": 0}).encode())
    control.recv(1 << 20)  # until the daemon closes it
"""


def make_venv(folder: Path) -> Path:
    """A bare venv (no pip: it is not needed, and ensurepip is slow); its interpreter."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    return folder / "bin" / "python"


def site_packages(python: Path) -> Path:
    found = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return Path(found.stdout.strip())


def with_orc(folder: Path) -> Path:
    python = make_venv(folder)
    ours = sysconfig.get_paths()["purelib"]
    (site_packages(python) / "orc-checkout.pth").write_text(f"{CHECKOUT}\n{ours}\n")
    return python


def with_old_orc(folder: Path) -> Path:
    python = make_venv(folder)
    package = site_packages(python) / "orchestrate"
    (package / "worker").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "_version.py").write_text('__version__ = "0.0.1"\n')
    (package / "worker" / "__init__.py").write_text("")
    (package / "worker" / "__main__.py").write_text(textwrap.dedent(OLD_WORKER))
    (package / "worker" / "zygote.py").write_text(textwrap.dedent(OLD_ZYGOTE))
    return python
