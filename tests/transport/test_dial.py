"""`orc dial-stdio`, and clients reaching a daemon through `ssh … orc dial-stdio`.

There is no sshd here, so a stand-in `ssh` is put first on PATH: a small
script that drops ssh's options and the host, then runs the remote command
through `sh -c`, as sshd would on the server. Everything after that is real:
the `orc dial-stdio` subprocess, its socket, the daemon's server.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrate.cli.exits import exit_code_for
from orchestrate.client import AsyncClient, DaemonNotRunning, SshError, connect, protocol

from .conftest import WAIT, FakeDaemon

ROOT = Path(__file__).resolve().parents[2]

FAKE_SSH = """#!/bin/sh
# Stands in for OpenSSH (no sshd here): logs its argv, drops the options and
# the host, and runs the remote command through a shell, as sshd would.
printf '%s\\n' "$*" >> "$FAKE_SSH_LOG"
while [ $# -gt 0 ]; do
  case "$1" in
    -p|-o|-l|-i|-F|-J) shift 2 ;;
    --) shift; break ;;
    -*) shift ;;
    *) break ;;
  esac
done
shift
exec sh -c "exec $*"
"""


def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def fake_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`ssh` and `orc` stand-ins first on PATH; returns the file ssh logs its arguments to."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    executable(bin_dir / "ssh", FAKE_SSH)
    executable(
        bin_dir / "orc",
        f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m orchestrate.cli "$@"\n',
    )
    log = tmp_path / "ssh.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.setenv("FAKE_SSH_LOG", str(log))
    monkeypatch.delenv("ORC_SSH", raising=False)
    return log


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "my project"
    root.mkdir()
    return root


def dial(project: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestrate.cli", "dial-stdio", "--project", str(project)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_dial_stdio_pipes_lines_both_ways_until_stdin_closes(serve: object, project: Path) -> None:
    daemon: FakeDaemon = serve(project)  # type: ignore[operator]
    hello = {"jsonrpc": "2.0", "id": 1, "method": "hello", "params": {"protocol": protocol.PROTOCOL_VERSION, "client": "x"}}  # fmt: skip
    slow = {"jsonrpc": "2.0", "id": 2, "method": "echo", "params": {"n": 2}}
    process = dial(project)

    lines = b"".join(json.dumps(m).encode() + b"\n" for m in (hello, slow))
    out, err = process.communicate(lines, timeout=WAIT)  # stdin closes after the requests

    replies = [json.loads(line) for line in out.splitlines()]
    assert process.returncode == 0, err
    assert replies[0]["result"]["project_root"] == str(daemon.root)
    assert replies[1]["result"]["params"] == {"n": 2}  # answered after stdin had closed


def test_dial_stdio_without_a_daemon_says_so_on_stderr(project: Path) -> None:
    process = dial(project)
    out, err = process.communicate(b"", timeout=WAIT)

    assert process.returncode == exit_code_for(DaemonNotRunning(project)) != 0
    assert out == b""
    assert f"no orc daemon is running for {project}; start it with `orc up`" in err.decode()


def test_a_client_reaches_the_daemon_over_ssh(serve: object, project: Path, fake_ssh: Path) -> None:
    daemon: FakeDaemon = serve(project)  # type: ignore[operator]

    with connect(host=f"ssh://ops@box:2222{project}") as client:
        status = client.status()
        with client.subscribe(["flow_run"]) as runs:
            daemon.publish("flow_run", {"id": "r1"}, flow_run_id="r1")
            pushed = runs.get(timeout=WAIT)

    assert status.project_root == str(project)
    assert pushed.data == {"id": "r1"}
    first_call = fake_ssh.read_text().splitlines()[0]
    assert (
        first_call == f"-T -o BatchMode=yes -p 2222 -- ops@box orc dial-stdio --project '{project}'"
    )


async def test_the_async_client_reaches_the_daemon_over_ssh(
    serve: object, project: Path, fake_ssh: Path
) -> None:
    daemon: FakeDaemon = serve(project)  # type: ignore[operator]

    async with await AsyncClient.connect(host=f"ssh://box{project}") as client:
        subscription = await client.subscribe(["log"])
        daemon.publish("log", {"message": "over ssh"})
        note = await subscription.get(timeout=WAIT)
        detail = await client.run("abc")

    assert note.data == {"message": "over ssh"}
    assert detail.run.id == "abc"


def test_no_daemon_on_the_server_names_the_server_and_the_project(
    project: Path, fake_ssh: Path
) -> None:
    with pytest.raises(DaemonNotRunning) as raised:
        connect(host=f"ssh://ops@box{project}")

    assert str(raised.value) == (
        f"no orc daemon is running for {project} on box; start it there with `orc up`"
    )


def test_orc_missing_on_the_server_says_how_to_fix_it(project: Path, fake_ssh: Path) -> None:
    (fake_ssh.parent / "bin" / "orc").unlink()

    with pytest.raises(SshError, match="orc is not installed on box") as raised:
        connect(host=f"ssh://ops@box{project}")

    assert "not on PATH for non-interactive ssh" in str(raised.value)


async def test_ssh_failing_gives_its_own_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = executable(
        tmp_path / "failing-ssh",
        "#!/bin/sh\necho 'ssh: connect to host box port 22: Connection refused' >&2\nexit 255\n",
    )
    monkeypatch.setenv("ORC_SSH", str(failing))

    with pytest.raises(SshError, match="ssh to ops@box failed: ssh: connect to host box port 22"):
        connect(host="ssh://ops@box")
    with pytest.raises(SshError, match="ssh to ops@box failed: ssh: connect to host box port 22"):
        await AsyncClient.connect(host="ssh://ops@box")  # not "exit code None": ssh has exited


async def test_ssh_failing_without_a_word_says_how_it_ended_and_what_it_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quiet = executable(tmp_path / "quiet-ssh", "#!/bin/sh\nexit 255\n")  # as with LogLevel QUIET
    monkeypatch.setenv("ORC_SSH", str(quiet))
    told = (
        f"ssh to ops@box on ssh's default port exited with status 255 and said nothing on "
        f"stderr. It ran: {quiet} -T -o BatchMode=yes -- ops@box 'orc dial-stdio'. "
    )

    with pytest.raises(SshError) as raised:
        connect(host="ssh://ops@box")
    assert str(raised.value).startswith(told)
    with pytest.raises(SshError) as raised:
        await AsyncClient.connect(host="ssh://ops@box")
    assert str(raised.value).startswith(told)
    assert "BatchMode=yes, so it cannot ask for a password" in str(raised.value)


def test_a_missing_ssh_executable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORC_SSH", "/nonexistent/ssh")

    with pytest.raises(SshError, match=r"cannot run '/nonexistent/ssh'.*set ORC_SSH"):
        connect(host="ssh://ops@box")
