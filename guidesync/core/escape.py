"""What guidesync prints is text, never a command to the CI runner or the terminal.

Guide paths, headings and task text come from files a pull request may write; issue titles, error
messages and markers come from the tracker. Printed raw, a line starting with ``::`` is a GitHub
Actions workflow command (``::add-mask::``, ``::stop-commands::``, ``::error::``), ``##[`` starts
the runner's older command syntax anywhere on a line, and control characters drive terminals and
GitLab's log (ANSI escapes, ``\\r``, section markers).

- :func:`shown` is the one escaping function every printer applies (the CLI's text output, the
  action's log lines, warnings, the job summary's cells, the status tables): control characters
  become ``\\xNN`` / ``\\uNNNN``, a leading ``::`` on any line becomes ``\\::``, ``##[`` becomes ``##\\[``.
- :func:`annotation` builds the workflow commands guidesync itself means to print (``lint --github``
  and the action), escaping the ``file=`` property like actions/toolkit's ``escapeProperty``
  (``%``, CR, LF, ``:`` and ``,``) and the message like its ``escapeData`` (``%``, CR, LF).
"""

from __future__ import annotations

import re
from typing import Any, Mapping

#: C0 controls, DEL, C1 controls, the Unicode line and paragraph separators and the bidirectional
#: overrides and isolates (text that reads differently from what it is).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
#: A workflow command: ``::`` first on a line (the runner trims leading blanks), or ``##[`` anywhere.
_COMMAND = re.compile(r"^([^\S\n]*)::", re.MULTILINE)


def _code(m: re.Match[str]) -> str:
    n = ord(m.group())
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def controls(text: str, keep: str = "\t\n") -> str:
    """``text`` with its control characters (but those in ``keep``) written as escapes."""
    return _CONTROL.sub(lambda m: m.group() if m.group() in keep else _code(m), str(text))


def shown(text: str) -> str:
    """``text`` made safe to print on a terminal or a CI log: no control character, no command."""
    text = controls(text)
    text = _COMMAND.sub(lambda m: m.group(1) + "\\::", text)
    return text.replace("##[", "##\\[")


def escape_data(text: str) -> str:
    """actions/toolkit ``escapeData``: the message of a workflow command."""
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """actions/toolkit ``escapeProperty``: a property value (``file=``) of a workflow command."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, file: str | None = None, line: int | None = None) -> str:
    """``::error file=…,line=…::message`` (or ``::warning``), every value escaped."""
    props = []
    if file is not None:
        props.append(f"file={escape_property(controls(file, keep=chr(10) + chr(13)))}")
    if line:
        props.append(f"line={int(line)}")
    where = (" " + ",".join(props)) if props else ""
    return f"::{level}{where}::{escape_data(controls(message, keep=chr(10) + chr(13)))}"


def problem_annotation(problem: Mapping[str, Any]) -> str:
    """A lint problem (``report.problem_data``) as an annotation on its file and line."""
    level = "error" if problem.get("severity") == "error" else "warning"
    return annotation(level, str(problem.get("message", "")), str(problem["file"]), problem.get("line"))
