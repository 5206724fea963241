"""What can go wrong with the input, as data; and the exit statuses (cli.md)."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass


class ExitCode(enum.IntEnum):
    """Exit statuses of every command (shared/spec/cli.md)."""

    OK = 0
    #: anything else: a bug, it should not happen
    BUG = 1
    #: the input or the configuration is invalid (every problem listed, nothing written)
    INVALID = 2
    #: check-dlt only: the safety stopping rule is met
    STOPPING_RULE_MET = 3


@dataclass(frozen=True, order=True)
class Issue:
    """One problem (or warning) found in the input.

    ``line`` is the line number in the file (header = 1), or None for a problem of the file as
    a whole; ``column`` the column name, or None; ``value`` the offending value as written.
    """

    line: int | None
    column: str | None
    value: str | None
    message: str
    severity: str = "error"

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        if self.value is not None:
            where.append(f"value {self.value!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class InputError(Exception):
    """The input cannot be used. ``issues`` holds every error found (and the warnings)."""

    def __init__(self, source: str, issues: list[Issue]):
        self.source = source
        self.issues = issues
        errors = [i for i in issues if i.severity == "error"]
        first = str(errors[0]) if errors else "invalid input"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{source}: {first}{more}")

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]


class ConfigError(Exception):
    """A configuration file that cannot be used; ``problems`` lists every one, by key.

    Here, not in :mod:`cart19.config`, so that catching it does not import pydantic."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class OutputError(Exception):
    """The output cannot be written because of the environment (a missing folder, a folder
    given as the output, a read-only or full file system, permission denied, standard output
    closed) or would destroy an input: a plain message and exit status 2 (cli.md)."""
