"""Strict loading of ``rules/**/*.yaml`` into a :class:`RuleSet`.

Strict means: duplicate keys, unknown keys, bad periods, bad dates, overlapping or
gapped version ranges, and references to fields the subject does not have are all
errors, each naming the file and the path inside it (``versions.bvl21.period``).
All problems of all files are reported together.

Files under a ``tests/`` folder are legal examples, not rules (see
:mod:`frister.rules.examples`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from frister.calendar import Period
from frister.errors import RuleError, RuleErrors
from frister.text import NotUtf8, decode_utf8
from frister.facts.vocabulary import SUBJECTS, SubjectType
from frister.rules.model import ExtensionSpec, LocalParameter, ReductionSpec, Rule, RuleSet, RuleVersion


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """A SafeLoader that refuses duplicate keys instead of keeping the last one (on
    libyaml's parser where PyYAML has it: every command reads the rules, and the rules
    and the ladder are read in 12 ms instead of 29 ms)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path, display: str) -> Any:
    """Read one YAML file strictly; errors name the file and the line."""
    try:
        text = decode_utf8(path.read_bytes())
    except OSError as exc:
        raise RuleError(display, "", f"cannot read: {exc.strerror}") from None
    except NotUtf8 as exc:
        raise RuleError(display, f"line {exc.line}", "not UTF-8 text (save the file as UTF-8)") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - strict SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RuleError(display, where, f"invalid YAML: {problem}") from None
    except ValueError as exc:  # e.g. an impossible date such as 2023-02-29
        raise RuleError(display, "", f"invalid value: {exc}") from None


class _Node:
    """A value inside a YAML document with its path, for precise messages."""

    def __init__(self, file: str, path: str, value: Any, errors: list[RuleError]):
        self.file = file
        self.path = path
        self.value = value
        self.errors = errors

    def error(self, message: str, sub: str | None = None) -> None:
        path = self.path if sub is None else (f"{self.path}.{sub}" if self.path else sub)
        self.errors.append(RuleError(self.file, path, message))

    def child(self, key: str) -> "_Node":
        path = f"{self.path}.{key}" if self.path else key
        value = self.value.get(key) if isinstance(self.value, dict) else None
        return _Node(self.file, path, value, self.errors)

    def mapping(self, allowed: set[str], required: set[str] = frozenset()) -> bool:
        if not isinstance(self.value, dict):
            self.error("expected a mapping")
            return False
        for key in self.value:
            if key not in allowed:
                self.error(f"unknown key (allowed: {', '.join(sorted(allowed))})", str(key))
        for key in sorted(required):
            if key not in self.value:
                self.error("required key is missing", key)
        return True

    def text(self, required: bool = True) -> str | None:
        if self.value is None:
            if required:
                self.error("expected text")
            return None
        if not isinstance(self.value, str) or not self.value.strip():
            self.error("expected non-empty text")
            return None
        return self.value

    def choice(self, choices: tuple[str, ...], required: bool = True) -> str | None:
        if self.value is None and not required:
            return None
        if self.value not in choices:
            self.error(f"expected one of: {', '.join(choices)}")
            return None
        return self.value

    def boolean(self, default: bool) -> bool:
        if self.value is None:
            return default
        if not isinstance(self.value, bool):
            self.error("expected true or false")
            return default
        return self.value

    def integer(self, minimum: int = 0, required: bool = True, maximum: int | None = None) -> int | None:
        if self.value is None and not required:
            return None
        if not isinstance(self.value, int) or isinstance(self.value, bool) or self.value < minimum \
                or (maximum is not None and self.value > maximum):
            self.error(f"expected a whole number ≥ {minimum}" if maximum is None
                       else f"expected a whole number from {minimum} to {maximum}")
            return None
        return self.value

    def date(self, required: bool = True) -> date | None:
        if self.value is None and not required:
            return None
        if not isinstance(self.value, date):
            self.error("expected a date YYYY-MM-DD")
            return None
        return self.value

    def period(self, required: bool = True) -> Period | None:
        if self.value is None and not required:
            return None
        try:
            return Period.parse(self.value)
        except ValueError as exc:
            self.error(str(exc))
            return None

    def notes(self) -> tuple[str, ...]:
        if self.value is None:
            return ()
        if isinstance(self.value, str):
            return (self.value,)
        if not isinstance(self.value, list) or not all(isinstance(n, str) for n in self.value):
            self.error("expected text or a list of texts")
            return ()
        return tuple(self.value)

    def field_ref(self, subject: SubjectType | None, kinds: tuple[str, ...], required: bool = True) -> str | None:
        if self.value is None:
            if required:
                self.error("expected a field name")
            return None
        if not isinstance(self.value, str):
            self.error("expected a field name")
            return None
        if subject is None:
            return self.value
        spec = subject.fields.get(self.value)
        if spec is None:
            self.error(f"unknown field of {subject.name} (known: {', '.join(sorted(subject.fields))})")
            return None
        if spec.kind not in kinds:
            self.error(f"field {self.value} is a {spec.kind}; expected a {' or '.join(kinds)}")
            return None
        return self.value

    def field_refs(self, subject: SubjectType | None, kinds: tuple[str, ...]) -> tuple[str, ...]:
        """One field name, or a list meaning 'the first of these that is recorded'."""
        if isinstance(self.value, list):
            if not self.value:
                self.error("expected at least one field name")
                return ()
            out = []
            for i, item in enumerate(self.value):
                ref = _Node(self.file, f"{self.path}[{i}]", item, self.errors).field_ref(subject, kinds)
                if ref:
                    out.append(ref)
            return tuple(out)
        ref = self.field_ref(subject, kinds)
        return (ref,) if ref else ()


DATE_KINDS = ("date", "fixed_date")

RULE_KEYS = {
    "id", "title", "kind", "subject", "confidence", "duty", "enabled", "local_parameters", "description",
    "notes", "applies_when", "starts", "opens_before_due", "roll_to_working_day", "versions",
    "visits", "reduced_on", "consent", "until_age", "responsible", "first_year_quarters", "restarts_on",
}
VERSION_COMMON = {"valid_from", "valid_to", "basis", "confidence", "duty", "notes"}
VERSION_KEYS = {
    "deadline": VERSION_COMMON | {"anchor", "anchor_offset", "anchor_not_after", "period", "period_by_kind",
                                   "lead_time", "not_before", "met_by", "extension"},
    "rolling": VERSION_COMMON | {"anchor", "period", "met_by", "interval_from"},
    "visits": VERSION_COMMON | {"per_half_year", "per_quarter", "reduced_per_half_year", "reduction"},
}
KIND_ONLY_KEYS = {
    "deadline": {"starts", "opens_before_due", "roll_to_working_day"},
    "rolling": {"starts", "roll_to_working_day"},
    "visits": {"visits", "reduced_on", "consent", "until_age", "responsible", "first_year_quarters", "restarts_on"},
}
DUTY_CHOICES = ("law", "guidance", "local")
LOCAL = "local"  # a period given as this word is the service's local parameter of that name


class _Locals:
    """A rule's local parameters with the values in force (local settings, else the
    rule file's defaults), and whether a version used one whose value is not the law's."""

    def __init__(self, params: dict[str, LocalParameter], values: dict[str, Period]):
        self.params, self.values = params, values
        self.departs = False

    def period(self, node: _Node, name: str, required: bool = False) -> Period | None:
        if node.value != LOCAL:
            return node.period(required=required)
        param = self.params.get(name)
        if param is None:
            node.error(f"'{LOCAL}' needs a local parameter named {name} (local_parameters.{name})")
            return None
        value = self.values.get(name, param.default)
        if value != param.law:
            self.departs = True
        return value


def _version(node: _Node, name: str, kind: str, subject: SubjectType | None, rule_conf: str | None,
             rule_duty: str, locals_: _Locals, quarters: bool = False) -> RuleVersion | None:
    if not node.mapping(VERSION_KEYS.get(kind, VERSION_COMMON), {"valid_from", "basis"}):
        return None
    locals_.departs = False
    valid_from = node.child("valid_from").date()
    valid_to = node.child("valid_to").date(required=False)
    if valid_from and valid_to and valid_to < valid_from:
        node.error("expected a date on or after valid_from", "valid_to")
    basis = node.child("basis").text()
    conf = node.child("confidence").choice(("V", "S", "U"), required=False) or rule_conf or "U"
    duty = node.child("duty").choice(DUTY_CHOICES, required=False) or rule_duty
    kw: dict[str, Any] = {}
    if kind in ("deadline", "rolling"):
        anchor_node = node.child("anchor")
        if anchor_node.value is not None:
            kw["anchor"] = anchor_node.field_refs(subject, DATE_KINDS)
        kw["met_by"] = node.child("met_by").field_ref(subject, ("date",) if kind == "deadline" else ("dates",))
        kw["period"] = locals_.period(node.child("period"), "period")
    if kind == "rolling":
        kw["interval_from"] = node.child("interval_from").field_ref(subject, ("period",), required=False)
    if kind == "deadline":
        offset = node.child("anchor_offset")
        if isinstance(offset.value, dict):
            if offset.mapping(set(kw.get("anchor") or ()) or set(offset.value)):
                kw["anchor_offsets"] = tuple((k, p) for k in offset.value if (p := offset.child(k).period()))
        else:
            kw["anchor_offset"] = offset.period(required=False)
        cap = node.child("anchor_not_after")
        if cap.value is not None and cap.mapping({"field", "plus"}, {"field", "plus"}):
            field = cap.child("field").field_ref(subject, DATE_KINDS)
            plus = cap.child("plus").period()
            if field and plus:
                kw["anchor_not_after"] = (field, plus)
        kw["lead_time"] = locals_.period(node.child("lead_time"), "lead_time")
        kw["not_before"] = node.child("not_before").field_ref(subject, ("date",), required=False)
        by_kind = node.child("period_by_kind")
        if by_kind.value is not None:
            kinds = _choices_of(subject, "kind")
            if by_kind.mapping(set(kinds) if kinds else set(by_kind.value or {})):
                kw["period_by_kind"] = tuple(
                    (k, p) for k in sorted(by_kind.value) if (p := by_kind.child(k).period()) is not None
                )
                missing = [k for k in kinds if k not in by_kind.value]
                if missing:
                    by_kind.error(f"no period for kind(s): {', '.join(missing)}")
        given = [k for k in ("period", "period_by_kind", "lead_time") if node.value.get(k) is not None]
        if len(given) != 1:
            node.error("expected exactly one of period, period_by_kind, lead_time")
        ext = node.child("extension")
        if ext.value is not None:
            if subject is not None and "extension_requested_on" not in subject.fields:
                ext.error(f"a {subject.name} has no extension in the import contract")
            elif ext.mapping({"period", "requested_by_due"}, {"period"}):
                p = ext.child("period").period()
                if p is not None:
                    kw["extension"] = ExtensionSpec(p, ext.child("requested_by_due").boolean(True))
    if kind == "rolling" and kw.get("period") is None and node.value.get("period") is None:
        node.error("required key is missing", "period")
    if kind == "visits" and quarters:
        kw["per_quarter"] = node.child("per_quarter").integer(1)
    elif kind == "visits":
        kw["per_half_year"] = node.child("per_half_year").integer(1)
        kw["reduced_per_half_year"] = node.child("reduced_per_half_year").integer(1, required=False)
        red = node.child("reduction")
        if red.value is not None:
            if red.mapping({"min_time_placed", "min_age", "consent_required"}, {"min_time_placed"}):
                placed = red.child("min_time_placed").period()
                if placed is not None:
                    kw["reduction"] = ReductionSpec(
                        placed,
                        red.child("min_age").integer(0, required=False),
                        red.child("consent_required").boolean(False),
                    )
        if (kw.get("reduction") is None) != (kw.get("reduced_per_half_year") is None):
            node.error("reduction and reduced_per_half_year go together")
    if valid_from is None or basis is None:
        return None
    if locals_.departs:
        duty = "local"  # a value the service set, not the law's: its routine, never shown as law
    return RuleVersion(name=name, valid_from=valid_from, valid_to=valid_to, basis=basis,
                       confidence=conf, duty=duty, notes=node.child("notes").notes(), **kw)


def _choices_of(subject: SubjectType | None, field: str) -> tuple[str, ...]:
    spec = subject.fields.get(field) if subject is not None else None
    return spec.choices if spec is not None else ()


def _check_ranges(node: _Node, versions: list[RuleVersion]) -> None:
    """Versions must not overlap, and must follow each other without a gap."""
    ordered = sorted(versions, key=lambda v: v.valid_from)
    for prev, nxt in zip(ordered, ordered[1:]):
        if prev.valid_to is None or prev.valid_to >= nxt.valid_from:
            node.error(f"overlaps version {nxt.name} (which starts {nxt.valid_from.isoformat()})", prev.name)
        elif prev.valid_to + timedelta(days=1) != nxt.valid_from:
            node.error(
                f"gap between {prev.valid_to.isoformat()} and {nxt.valid_from.isoformat()} "
                f"(version {nxt.name}): say which law applies in between",
                prev.name,
            )


def _local_parameters(node: _Node) -> dict[str, LocalParameter]:
    out: dict[str, LocalParameter] = {}
    if node.value is None or not node.mapping(set(node.value or {})):
        return out
    for name in node.value:
        p = node.child(str(name))
        if p.mapping({"default", "law", "text"}, {"default", "text"}):
            default, text = p.child("default").period(), p.child("text").text()
            law = p.child("law").period(required=False)
            if default and text:
                out[str(name)] = LocalParameter(str(name), default, text.strip(), law)
    return out


def compile_rule(doc: Any, display: str, expected_id: str | None = None,
                 local: dict[str, Any] | None = None) -> tuple[Rule | None, list[RuleError]]:
    """One rule from its YAML document; ``local`` is the service's settings for it
    (``enabled`` and local parameter values, already checked)."""
    errors: list[RuleError] = []
    root = _Node(display, "", doc, errors)
    if not root.mapping(RULE_KEYS, {"id", "title", "kind", "subject", "confidence", "versions"}):
        return None, errors
    rule_id = root.child("id").text()
    if rule_id and expected_id and rule_id != expected_id:
        root.error(f"expected the file name ({expected_id}.yaml) to match the id", "id")
    kind = root.child("kind").choice(("deadline", "rolling", "visits"))
    subject_name = root.child("subject").choice(tuple(SUBJECTS))
    subject = SUBJECTS.get(subject_name) if subject_name else None
    conf = root.child("confidence").choice(("V", "S", "U"))
    duty = root.child("duty").choice(DUTY_CHOICES, required=False) or "law"
    local = local or {}
    params = {name: dataclasses.replace(p, value=local.get(name)) if isinstance(local.get(name), Period) else p
              for name, p in _local_parameters(root.child("local_parameters")).items()}
    locals_ = _Locals(params, {k: v for k, v in local.items() if k != "enabled"})
    if kind:
        for other, keys in KIND_ONLY_KEYS.items():
            if other == kind:
                continue
            for key in sorted(keys - KIND_ONLY_KEYS[kind]):
                if key in doc:
                    root.error(f"not a key of a {kind} rule (it belongs to {other} rules)", key)

    applies: list[tuple[str, frozenset]] = []
    aw = root.child("applies_when")
    if aw.value is not None and aw.mapping(set(subject.fields) if subject else set(aw.value or {})):
        for key in sorted(aw.value):
            val = aw.value[key]
            values = val if isinstance(val, list) else [val]
            spec = subject.fields.get(key) if subject else None
            if spec is not None and spec.kind not in ("choice", "bool"):
                aw.error("only kind/choice and true/false fields can be conditions", key)
                continue
            allowed = _choices_of(subject, key)
            for v in values:
                if spec is not None and spec.kind == "bool" and not isinstance(v, bool):
                    aw.error("expected true or false", key)
                elif allowed and v not in allowed:
                    aw.error(f"expected one of: {', '.join(allowed)}", key)
            applies.append((key, frozenset(values)))

    kw: dict[str, Any] = {}
    if kind in ("deadline", "rolling"):
        starts = root.child("starts")
        if starts.value is None:
            root.error("required key is missing (the event whose date picks the law version)", "starts")
        kw["starts"] = starts.field_refs(subject, DATE_KINDS) if starts.value is not None else ()
        kw["roll_to_working_day"] = root.child("roll_to_working_day").boolean(False)
    if kind == "deadline":
        kw["opens_before_due"] = root.child("opens_before_due").period(required=False)
    if kind == "visits":
        kw["visits"] = root.child("visits").field_ref(subject, ("dates",))
        kw["reduced_on"] = root.child("reduced_on").field_ref(subject, ("date",), required=False)
        kw["until_age"] = root.child("until_age").integer(1, required=False)
        kw["responsible"] = root.child("responsible").field_ref(subject, ("text",), required=False)
        kw["consent"] = root.child("consent").field_ref(subject, ("bool",), required=False)
        kw["first_year_quarters"] = root.child("first_year_quarters").boolean(False)
        kw["restarts_on"] = root.child("restarts_on").field_ref(subject, ("dates",), required=False)
        if subject is not None and subject.name != "placement":
            root.error("visit rules are about placements", "subject")

    versions: list[RuleVersion] = []
    vnode = root.child("versions")
    if isinstance(vnode.value, dict) and vnode.value:
        for name in vnode.value:
            v = _version(vnode.child(str(name)), str(name), kind or "", subject, conf, duty, locals_,
                         quarters=bool(kw.get("first_year_quarters")))
            if v is not None:
                versions.append(v)
        _check_ranges(vnode, versions)
    else:
        vnode.error("expected a mapping of version name to version (at least one)")
    if kind == "deadline":
        for v in versions:
            if not kw.get("starts") and not v.anchor:
                vnode.error("no anchor: give starts or anchor", v.name)

    if duty != "local" and root.child("enabled").value is not None:
        root.error("only a local routine (duty: local) can be switched on or off", "enabled")
    title = root.child("title").text()
    if errors or not (rule_id and kind and subject_name and conf and title):
        return None, errors
    versions.sort(key=lambda v: v.valid_from)
    rule = Rule(
        id=rule_id,
        title=title,
        kind=kind,  # type: ignore[arg-type]
        subject=subject_name,
        confidence=conf,  # type: ignore[arg-type]
        versions=tuple(versions),
        source=display,
        duty=duty,  # type: ignore[arg-type]
        enabled=local.get("enabled", root.child("enabled").boolean(True)),
        local_parameters=tuple(params.values()),
        description=(root.child("description").text(required=False) or "").strip(),
        notes=root.child("notes").notes(),
        applies_when=tuple(applies),
        **kw,
    )
    return (None, errors) if errors else (rule, errors)


def rule_files(directory: Path) -> list[Path]:
    """The rule files in ``directory`` (recursively), without the legal examples."""
    return sorted(
        p for p in directory.rglob("*.yaml") if "tests" not in p.relative_to(directory).parts[:-1]
    )


def _display(path: Path, directory: Path) -> str:
    try:
        return str(Path(directory.name) / path.relative_to(directory))
    except ValueError:
        return str(path)


def read_local(path: Path | str | None) -> tuple[dict[str, dict[str, Any]], str, bytes]:
    """The service's local settings (``config/local.yaml``): per rule id, ``enabled``
    and local parameter values, periods parsed. Returns them with the file's display
    name and its bytes (which the rules' fingerprint includes). No file: no settings.

    Shape::

        rules:
          foster_home_first_year_visits: {enabled: false}
          aftercare_assessment: {lead_time: 4 months}
    """
    if path is None or not Path(path).is_file():
        return {}, str(path or ""), b""
    path = Path(path)
    display = path.name
    doc = read_yaml(path, display) or {}
    errors: list[RuleError] = []
    root = _Node(display, "", doc, errors)
    out: dict[str, dict[str, Any]] = {}
    if root.mapping({"rules"}):
        rules = root.child("rules")
        if rules.value is not None and rules.mapping(set(rules.value or {})):
            for rule_id, entry in rules.value.items():
                node = rules.child(str(rule_id))
                if not node.mapping(set(entry or {}) if isinstance(entry, dict) else set()):
                    continue
                values: dict[str, Any] = {}
                for key in entry:
                    if key == "enabled":
                        values[key] = node.child(key).boolean(True)
                    else:
                        values[key] = node.child(str(key)).period()
                out[str(rule_id)] = values
    if errors:
        raise RuleErrors(errors)
    return out, display, path.read_bytes()


def _check_local(rule: Rule, entry: dict[str, Any], display: str, errors: list[RuleError]) -> None:
    known = {p.name for p in rule.local_parameters}
    for key in entry:
        if key == "enabled" and rule.duty != "local":
            errors.append(RuleError(display, f"rules.{rule.id}.enabled",
                                    f"{rule.id} is a {rule.duty} duty: only a local routine can be switched off"))
        elif key != "enabled" and key not in known:
            errors.append(RuleError(display, f"rules.{rule.id}.{key}", "not a local parameter of this rule "
                                    f"(known: {', '.join(sorted(known)) or 'none'})"))


def load_rules(directory: Path | str, local: Path | str | None = None) -> RuleSet:
    """Load and check every rule file, with the service's local settings (``local``, a
    path; none: the defaults each rule file states). Raises :class:`RuleErrors` listing
    every problem. A local routine switched off is not evaluated (``RuleSet.off``)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise RuleErrors([RuleError(str(directory), "", "rules directory not found")])
    settings, local_display, local_bytes = read_local(local)
    errors: list[RuleError] = []
    rules: list[Rule] = []
    digest = hashlib.sha256()
    seen: dict[str, str] = {}
    files = rule_files(directory)
    if not files:
        errors.append(RuleError(str(directory), "", "no rule files (*.yaml) found"))
    for path in files:
        display = _display(path, directory)
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
        try:
            doc = read_yaml(path, display)
        except RuleError as exc:
            errors.append(exc)
            continue
        rule, problems = compile_rule(doc, display, expected_id=path.stem, local=settings.get(path.stem))
        errors.extend(problems)
        if rule is not None:
            _check_local(rule, settings.get(rule.id, {}), local_display, errors)
            if rule.id in seen:
                errors.append(RuleError(display, "id", f"duplicate rule id (also in {seen[rule.id]})"))
            else:
                seen[rule.id] = display
                rules.append(rule)
    for rule_id in sorted(set(settings) - set(seen)):
        errors.append(RuleError(local_display, f"rules.{rule_id}", "no rule with this id"))
    if errors:
        raise RuleErrors(errors)
    digest.update(b"local\0" + local_bytes)
    ordered = sorted(rules, key=lambda r: r.id)
    return RuleSet(tuple(r for r in ordered if r.enabled), digest.hexdigest()[:16], str(directory),
                   off=tuple(r for r in ordered if not r.enabled))
