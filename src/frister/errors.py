"""The small error hierarchy of frister.

Every error a user can cause is a :class:`FristerError`; the CLI prints its message
without a traceback and exits non-zero. Messages say what was expected and where
(file, line, case, field) but never echo a personal value from case data.
"""

from __future__ import annotations


class FristerError(Exception):
    """Base class: an error the user can act on. The CLI prints ``label: message``."""

    exit_code = 2
    label = "error"


class ConfigError(FristerError):
    """Settings or a configuration file is invalid."""


class RuleError(FristerError):
    """A rule file is invalid. The message names the file and the path inside it."""

    def __init__(self, file: str, path: str, message: str):
        self.file = file
        self.path = path
        self.detail = message
        where = f"{file}: {path}" if path else file
        super().__init__(f"{where}: {message}")


class RuleErrors(FristerError):
    """Several rule files are invalid; one message line per problem."""

    def __init__(self, errors: list[RuleError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class ValidationIssue:
    """One invalid field in an import record: where it is and what was expected.
    ``field`` is empty for a problem that the message locates itself (a key given
    twice names its key and the object it is in)."""

    __slots__ = ("source", "line", "case_id", "field", "expected")

    def __init__(self, source: str, line: int, case_id: str | None, field: str, expected: str):
        self.source = source
        self.line = line
        self.case_id = case_id
        self.field = field
        self.expected = expected

    def __str__(self) -> str:
        case = self.case_id if self.case_id is not None else "?"
        where = f"{self.field}: " if self.field else ""
        return f"{self.source}:{self.line}: case {case}: {where}{self.expected}"

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"ValidationIssue({self})"


class ImportRejected(FristerError):
    """An import file had invalid records; nothing was written."""

    def __init__(self, issues: list[ValidationIssue], total: int, shown_limit: int = 50):
        self.issues = issues
        self.total = total
        shown = issues[:shown_limit]
        lines = [str(i) for i in shown]
        if total > len(shown):
            lines.append(f"... and {total - len(shown)} more")
        lines.append(f"import rejected: {total} invalid field(s); nothing was written")
        super().__init__("\n".join(lines))


class ImportRefused(FristerError):
    """An import file was refused as a whole (not UTF-8, empty, or a full export that
    would remove too many cases); nothing was written. The message names the file."""


class OutputError(FristerError):
    """An output file (a report) could not be written; nothing was left at its path."""


class DatabaseNotReady(FristerError):
    """The database has not been migrated to the schema this version needs."""


class NoCases(FristerError):
    """The database holds no cases yet: a night would evaluate nothing and look green."""

    label = "warning"


class RunInProgress(FristerError):
    """Another nightly run holds the lock."""

    exit_code = 75  # EX_TEMPFAIL: try again later
