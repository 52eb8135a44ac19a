"""Make options of a table: ``computed [make_timeout = 600, retries = 3, retry_on = OSError] Stat``.

They say how ``populate()`` runs the table's ``make()``: the same names and
meanings as the attributes of the runtime's ``Maker`` class (docs/populate.md,
"Long makes, timeouts and retries").  :func:`check` gives the diagnostics of a
table's options (E0151 bad name or value, E0152 option on a table without
make()); :func:`settings` turns valid options into plain values for the runtime
metadata.
"""

from __future__ import annotations

import builtins
import difflib
import math

from relflow_gen.compiler.diagnostics import Diagnostic
from relflow_gen.compiler.ir import MakeOption, Table, Tier, Value

#: the options, with what each takes (for messages)
MAKE_OPTIONS: dict[str, str] = {
    "make_timeout": "a positive number of seconds",
    "retries": "a whole number of attempts after the first (0 or more)",
    "retry_on": "built-in exception names, separated by `|` (e.g. `OSError | TimeoutError`)",
    "retry_backoff": "a number of seconds (0 or more)",
}


def exception_names() -> list[str]:
    """The built-in exception classes a ``retry_on`` may name."""
    return sorted(
        n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException) and n[0].isupper()
    )


def _number(v: Value) -> float | None:
    if v.kind in ("int", "float") and isinstance(v.value, (int, float)) and not isinstance(v.value, bool):
        x = float(v.value)
        return x if math.isfinite(x) else None
    return None


def _written(option: MakeOption) -> str:
    return " | ".join(v.text for v in option.values)


def _problem(option: MakeOption) -> tuple[str, str | None] | None:
    """(message, hint) when the value of a known option is wrong."""
    name, values = option.name, option.values
    wants = MAKE_OPTIONS[name]
    if name == "retry_on":
        if not values:
            return f"`retry_on` takes {wants}", None
        known = set(exception_names())
        for v in values:
            if v.kind != "name":
                return f"`retry_on` takes exception names, not `{v.text}`", f"write {wants}"
            if v.text not in known:
                close = difflib.get_close_matches(v.text, sorted(known), n=1)
                hint = f"did you mean `{close[0]}`?" if close else None
                return (
                    f"`{v.text}` is not a built-in exception",
                    hint or "other exceptions: set `retry_on` on the maker class (docs/populate.md)",
                )
        return None
    if len(values) != 1:
        return f"`{name}` takes {wants}, not `{_written(option)}`", None
    x = _number(values[0])
    text = values[0].text
    if name == "make_timeout" and (x is None or x <= 0):
        return f"`make_timeout` must be {wants}, not `{text}`", "for no timeout, leave the option out"
    if name == "retries" and (values[0].kind != "int" or x is None or x < 0):
        return f"`retries` must be {wants}, not `{text}`", None
    if name == "retry_backoff" and (x is None or x < 0):
        return f"`retry_backoff` must be {wants}, not `{text}`", None
    return None


def check(table: Table) -> list[Diagnostic]:
    """The problems of a table's make options."""
    out: list[Diagnostic] = []
    if not table.make_options:
        return out
    if not table.tier.is_auto:
        first = table.make_options[0]
        out.append(
            Diagnostic(
                "E0152",
                f"`{first.name}` is a make option, but {table.tier.value} table `{table.name}` has no make()",
                first.span,
                "a part's rows are made by its master's make(): put the options on the master"
                if table.tier is Tier.PART
                else "only imported and computed tables are made by populate(); remove the options",
            )
        )
        return out
    seen: set[str] = set()
    for option in table.make_options:
        if option.name not in MAKE_OPTIONS:
            close = difflib.get_close_matches(option.name, list(MAKE_OPTIONS), n=1)
            hint = f"did you mean `{close[0]}`?" if close else "make options are " + ", ".join(MAKE_OPTIONS)
            out.append(Diagnostic("E0151", f"unknown make option `{option.name}`", option.span, hint))
            continue
        if option.name in seen:
            out.append(Diagnostic("E0151", f"make option `{option.name}` given twice", option.span))
            continue
        seen.add(option.name)
        problem = _problem(option)
        if problem is not None:
            out.append(Diagnostic("E0151", problem[0], option.span, problem[1]))
    given = {o.name: o for o in table.make_options}
    retries = given.get("retries")
    if retries is not None and "retry_on" not in given and _number(retries.values[0]) not in (None, 0.0):
        out.append(
            Diagnostic(
                "E0151",
                "`retries` without `retry_on`: no exception would be tried again",
                retries.span,
                "add `retry_on = OSError` (the exceptions worth another attempt)",
            )
        )
    retry_on = given.get("retry_on")
    if retry_on is not None and retries is None:
        out.append(
            Diagnostic(
                "E0151",
                "`retry_on` without `retries`: no attempt would be made again",
                retry_on.span,
                "add `retries = 3` (the attempts after the first)",
            )
        )
    return out


def settings(table: Table) -> dict[str, object]:
    """The valid options of a table as plain values (``retry_on``: a tuple of names)."""
    out: dict[str, object] = {}
    for option in table.make_options:
        if option.name not in MAKE_OPTIONS or option.name in out or _problem(option) is not None:
            continue
        if option.name == "retry_on":
            out["retry_on"] = tuple(v.text for v in option.values)
        elif option.name == "retries":
            out["retries"] = int(float(option.values[0].value or 0))
        else:
            number = _number(option.values[0])
            assert number is not None
            out[option.name] = number
    return out
