"""Where a `run-command` argv would turn event text into code, so validation can refuse it.

orc never runs a shell, so each rendered argv item reaches the program as one
argument. That guarantee stops at the program: `["sh", "-c", "echo {{ … }}"]`
hands the event text to a shell as its script, and the shell runs whatever
the payload says. This module finds the argv items a program reads as code
(the script of `sh -c`, `python -c`, `perl -e`, an `awk` program, …), the
program itself, and environment variables that interpreters execute or load,
wherever the interpreter appears in the argv (`env X=1 sh -c`, `xargs sh -c`,
`sudo /bin/bash -ec`). A template there is refused; event data is read safely
from the ORC_EVENT_JSON environment variable or passed as a separate argument.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

TEMPLATE_MARK = "{{"


@dataclass(frozen=True, slots=True)
class Interpreter:
    """How one family of programs takes inline code on its command line.

    `flags` are the short option letters whose value is code (`c` of `sh -c`);
    `long_flags` the long ones (`--eval`); `takes_value` the options that
    consume the next argument; `operand_is_code` marks programs whose first
    operand is code (`awk 'prog'`, `sh -c 'script'` once `-c` was seen).
    """

    flags: str
    long_flags: frozenset[str] = frozenset()
    takes_value: frozenset[str] = frozenset()
    script_follows_flags: bool = False  # shells: -c makes the first operand the script
    operand_is_code: bool = False  # awk, sed: the first operand is the program
    code_flags_cancel_operand: str = ""  # awk -f / sed -e: the operand is then a file or input
    remote_command: bool = False  # ssh: every operand after the host is a remote shell's script
    all_operands_code: bool = False  # watch: the operands are joined into a shell command
    options_after_operands: bool = False  # `su USER -c`, `flock FILE -c`: options come later


_SHELL = Interpreter(
    "c",
    takes_value=frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"}),
    script_follows_flags=True,
)
_PYTHON = Interpreter("c", takes_value=frozenset({"-W", "-X", "-Q"}))
_PERL = Interpreter("eE", takes_value=frozenset({"-I", "-M", "-m"}))
_RUBY = Interpreter("e", takes_value=frozenset({"-I", "-r", "-C"}))
_NODE = Interpreter(
    "ep",
    long_flags=frozenset({"--eval", "--print"}),
    takes_value=frozenset({"-r", "--require", "--import"}),
)
_ONE_FLAG = {"php": Interpreter("r"), "lua": Interpreter("e"), "luajit": Interpreter("e")}
_AWK = Interpreter(
    "e",
    long_flags=frozenset({"--source"}),
    takes_value=frozenset({"-v", "-F", "-f", "--file"}),
    operand_is_code=True,
    code_flags_cancel_operand="fe",
)
_SED = Interpreter(
    "e",
    long_flags=frozenset({"--expression"}),
    takes_value=frozenset({"-f", "--file", "-l"}),
    operand_is_code=True,
    code_flags_cancel_operand="ef",
)

_SSH = Interpreter(
    "",
    takes_value=frozenset("-" + letter for letter in "BbcDEeFIiJLlmOopQRSWw"),
    remote_command=True,
)
_ENV = Interpreter(
    "S",
    long_flags=frozenset({"--split-string"}),
    takes_value=frozenset({"-u", "--unset", "-C", "--chdir"}),
)
#: Programs that hand one argument to `sh -c`: `su -c`, `flock FILE -c`, `script -c`.
_RUNS_A_SHELL = Interpreter("c", long_flags=frozenset({"--command"}), options_after_operands=True)

_FAMILIES: Mapping[str, Interpreter] = {
    **dict.fromkeys(
        ("sh", "bash", "zsh", "dash", "ksh", "mksh", "pdksh", "ash", "yash", "fish", "csh", "tcsh"),
        _SHELL,
    ),
    **dict.fromkeys(("python", "python2", "python3", "pypy", "pypy3"), _PYTHON),
    "perl": _PERL,
    "ruby": _RUBY,
    **dict.fromkeys(("node", "nodejs", "bun"), _NODE),
    **_ONE_FLAG,
    **dict.fromkeys(("Rscript", "osascript"), Interpreter("e")),
    **dict.fromkeys(("awk", "gawk", "mawk", "nawk", "busybox-awk"), _AWK),
    **dict.fromkeys(("sed", "gsed"), _SED),
    "ssh": _SSH,
    "env": _ENV,
    **dict.fromkeys(("su", "runuser", "script", "flock"), _RUNS_A_SHELL),
    "watch": Interpreter("", takes_value=frozenset({"-n", "--interval"}), all_operands_code=True),
}

#: `python3.12`, `perl5.36`, `pypy3.10`: a version suffix names the same interpreter.
_VERSION_SUFFIX = re.compile(r"(?<=[a-z])[0-9][0-9.]*$")

#: Variables an interpreter runs or loads code from: a templated value there is code too.
CODE_VARIABLES = frozenset(
    {
        "BASH_ENV",
        "ENV",
        "PS1",
        "PS2",
        "PS3",
        "PS4",
        "PROMPT_COMMAND",
        "SHELLOPTS",
        "BASHOPTS",
        "IFS",
        "PATH",
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "LD_AUDIT",
        "PYTHONSTARTUP",
        "PYTHONPATH",
        "PYTHONHOME",
        "PERL5OPT",
        "PERL5LIB",
        "PERLLIB",
        "RUBYOPT",
        "RUBYLIB",
        "NODE_OPTIONS",
        "NODE_PATH",
        "GIT_SSH_COMMAND",
        "EDITOR",
    }
)

ADVICE = (
    "read event data from the ORC_EVENT_JSON environment variable (the whole event as JSON), "
    "or pass it as a separate argument the script reads as data, e.g. "
    """["sh", "-c", 'notify "$1"', "sh", "{{ event.payload.name }}"]"""
)


def _family(program: str) -> Interpreter | None:
    name = PurePosixPath(program).name.removesuffix(".exe")
    return _FAMILIES.get(name) or _FAMILIES.get(_VERSION_SUFFIX.sub("", name))


def _templated(text: str) -> bool:
    return TEMPLATE_MARK in text


def code_positions(argv: Sequence[str]) -> Iterator[tuple[int, str]]:
    """(index, program) of every argv item some program in `argv` would read as code."""
    for start, program in enumerate(argv):
        family = _family(program)
        if family is not None:
            for index in _code_after(family, argv, start + 1):
                if index < len(argv):
                    yield index, PurePosixPath(program).name


def _code_after(family: Interpreter, argv: Sequence[str], i: int) -> Iterator[int]:
    """The code arguments of one interpreter whose own options start at `argv[i]`."""
    script_pending = False  # a shell saw -c: its first operand is the script
    operand_cancelled = False
    while i < len(argv):
        arg = argv[i]
        if arg == "--" or not arg.startswith(("-", "+")) or arg in ("-", "+"):
            if family.options_after_operands and arg != "--":
                i += 1
                continue
            yield from _operand_code(
                family, argv, i + (arg == "--"), script_pending, operand_cancelled
            )
            return
        if arg in family.takes_value:
            # `awk -f prog.awk`, `sed -f script.sed`: the program comes from a file, not an operand
            operand_cancelled = operand_cancelled or arg in ("-f", "--file")
            i += 2
            continue
        name, _, inline = arg.partition("=")
        if name in family.long_flags:
            yield i if inline else i + 1
            i += 1 if inline else 2
            operand_cancelled = True
            continue
        found = _short_code_flag(arg, family.flags)
        if found is None:
            i += 1
            continue
        operand_cancelled = operand_cancelled or found[0] in family.code_flags_cancel_operand
        if family.script_follows_flags:
            script_pending = True
            i += 1
        elif found[1]:  # `python -cprint(1)`: the code is the rest of the cluster
            yield i
            i += 1
        else:
            yield i + 1
            i += 2


def _operand_code(
    family: Interpreter, argv: Sequence[str], i: int, script_pending: bool, cancelled: bool
) -> Iterator[int]:
    """Which operands, from `argv[i]` on, the interpreter reads as code."""
    if family.remote_command:
        yield from range(i + 1, len(argv))
    elif family.all_operands_code:
        yield from range(i, len(argv))
    elif script_pending or (family.operand_is_code and not cancelled):
        yield i


def _short_code_flag(arg: str, flags: str) -> tuple[str, str] | None:
    """In a short-option cluster such as `-ec`, the first code flag and what follows it."""
    if arg.startswith("--"):
        return None
    body = arg[1:]
    for position, letter in enumerate(body):
        if letter in flags:
            return letter, body[position + 1 :]
    return None


@dataclass(frozen=True, slots=True)
class Wrapper:
    """A program that runs another one named in its argv (`env X=1 prog`, `timeout 5 prog`).

    `takes_value` are its options that consume the next argument; `leading` how many
    operands come before the program (the duration of `timeout`); `assignments` whether
    `NAME=value` items may come first (`env`).
    """

    takes_value: frozenset[str] = frozenset()
    leading: int = 0
    assignments: bool = False


_WRAPPERS: Mapping[str, Wrapper] = {
    "env": Wrapper(
        frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"}), assignments=True
    ),
    "timeout": Wrapper(frozenset({"-s", "--signal", "-k", "--kill-after"}), leading=1),
    "nsenter": Wrapper(frozenset({"-t", "--target", "-S", "--setuid", "-G", "--setgid"})),
    "nice": Wrapper(frozenset({"-n", "--adjustment"})),
    "ionice": Wrapper(frozenset({"-c", "--class", "-n", "--classdata", "-p", "-P", "-u"})),
    "chrt": Wrapper(leading=1),
    "taskset": Wrapper(leading=1),
    "stdbuf": Wrapper(frozenset({"-i", "-o", "-e"})),
    "sudo": Wrapper(
        frozenset(
            {
                "-u",
                "-g",
                "-C",
                "-D",
                "-h",
                "-p",
                "-r",
                "-t",
                "-U",
                "-T",
                "--user",
                "--group",
                "--close-from",
                "--chdir",
                "--host",
                "--prompt",
                "--role",
                "--type",
                "--other-user",
                "--command-timeout",
            }
        )
    ),
    "doas": Wrapper(frozenset({"-u", "-C"})),
    "xargs": Wrapper(
        frozenset(
            {
                "-a",
                "-d",
                "-E",
                "-I",
                "-L",
                "-n",
                "-P",
                "-s",
                "--arg-file",
                "--delimiter",
                "--max-args",
                "--max-procs",
                "--max-lines",
                "--max-chars",
                "--replace",
                "--eof",
            }
        )
    ),
    "chroot": Wrapper(leading=1),
    **dict.fromkeys(("nohup", "setsid", "time", "exec", "command", "builtin"), Wrapper()),
}
#: `find … -exec PROG …`: the argument after one of these is a program.
_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
#: Interpreters whose first operand (outside `-c`) is a script file they run.
_SCRIPT_RUNNERS = frozenset(
    {*(n for n, f in _FAMILIES.items() if f in (_SHELL, _PYTHON, _PERL, _RUBY, _NODE)), "php"}
)


def program_positions(argv: Sequence[str]) -> Iterator[int]:
    """Every argv index that names a program or script to run: the first item, what a
    wrapper there runs (`env`, `timeout`, `sudo`, `xargs`, `find -exec`, …), the script or
    module an interpreter there is given (`sh SCRIPT`, `python3 -m MODULE`), and so on
    down (`sudo env X=1 timeout 5 PROG`). Arguments of the program are not programs:
    `["sh", "-c", 'notify "$1"', "sh", "{{ … }}"]` passes the event text as data."""
    pending = [0] if argv else []
    while pending:
        index = pending.pop()
        yield index
        name = PurePosixPath(argv[index]).name
        wrapper = _WRAPPERS.get(name)
        if wrapper is not None:
            pending += _wrapped(wrapper, argv, index + 1)
        elif name == "find":
            pending += [i + 1 for i in range(index + 1, len(argv) - 1) if argv[i] in _FIND_EXEC]
        elif _VERSION_SUFFIX.sub("", name.removesuffix(".exe")) in _SCRIPT_RUNNERS:
            family = _family(argv[index])
            if family is not None:
                pending += _script_of(argv, index + 1, family)


def _wrapped(wrapper: Wrapper, argv: Sequence[str], i: int) -> Iterator[int]:
    leading = wrapper.leading
    while i < len(argv):
        arg = argv[i]
        if arg in wrapper.takes_value:
            i += 2
        elif _an_option(arg) or (wrapper.assignments and "=" in arg and arg[0] != "="):
            i += 1
        elif leading:
            leading -= 1
            i += 1
        else:
            yield i
            return


def _an_option(arg: str) -> bool:
    return arg.startswith("-") and arg != "-" and not _templated(arg)


def _script_of(argv: Sequence[str], i: int, family: Interpreter) -> Iterator[int]:
    """The script file (or `-m` module) an interpreter runs, unless it runs inline code
    (`sh -c`, `perl -ne`: `code_positions` sees to those); an option's value is skipped."""
    while i < len(argv):
        arg = argv[i]
        if arg in ("-m", "--"):
            yield i + 1
            return
        if arg.startswith("-") and arg != "-":
            if arg.startswith("--eval") or _short_code_flag(arg, family.flags) is not None:
                return
            i += 2 if arg in family.takes_value else 1
            continue
        yield i
        return


def argv_problems(argv: Sequence[str]) -> list[tuple[int, str]]:
    """(index, reason) for each templated argv item that a program would run as code."""
    problems: list[tuple[int, str]] = []
    for index in sorted(set(program_positions(argv))):
        if index < len(argv) and _templated(argv[index]):
            where = "" if index == 0 else " here (the program before it runs it)"
            problems.append(
                (
                    index,
                    f"the program to run{where} cannot be a template: event text would choose "
                    "what runs; name the program, and pass event data as its arguments",
                )
            )
    for index, program in code_positions(argv):
        if _templated(argv[index]) and all(i != index for i, _ in problems):
            problems.append(
                (
                    index,
                    f"{program} runs this argument as code, so with a template here event text "
                    f"would become code (a payload such as `x; touch /tmp/x` would run); {ADVICE}",
                )
            )
    return problems


def env_problems(env: Mapping[str, object]) -> list[tuple[str, str]]:
    """(name, reason) for each templated variable that interpreters run or load code from."""
    return [
        (
            name,
            f"{name} is read as code or a code path by shells and interpreters, so it cannot hold "
            f"a template; use another variable name or read ORC_EVENT_JSON",
        )
        for name, value in env.items()
        if name in CODE_VARIABLES and isinstance(value, str) and _templated(value)
    ]
