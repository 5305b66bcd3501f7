"""Rendering messages safely: a sandboxed Jinja2 with plain data only, held to Telegram's limits.

Templates are data that admins edit, so they are treated as untrusted code. ``check`` refuses
anything beyond printing the known variables, ``if`` and a few filters, before a template is ever
saved; rendering runs in Jinja2's immutable sandbox with no globals, so even a template that got
past the check can reach neither Python objects nor files.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.runtime import Context as JinjaContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from service.content.library import Problem

CLIENT_VARIABLES = frozenset(
    {
        "first_name",
        "value",
        "reason",
        "days_sober",
        "next_milestone",
        "coordinator_name",
        "crisis_lines",
        "emergency_number",
        "care_team",
    }
)
STAFF_VARIABLES = frozenset({"client_code", "severity", "alert_reason", "console_link"})
VARIABLES = {"client": CLIENT_VARIABLES, "staff": STAFF_VARIABLES}
FILTERS = ("e", "escape", "lower", "upper", "capitalize", "default")
TESTS = ("defined", "none")
TELEGRAM_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a", "tg-spoiler"}
)
MAX_TEXT = 4096  # Telegram's limit for a message's text, after entities are parsed
TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9-]*)\b[^>]*>")
TOO_DEEP = "Jinja2 syntax: nested too deeply (brackets, `not`s or `if`s within each other)"
BARE_MARKUP = re.compile(r"&(?!#?\w+;)|<(?![a-zA-Z/])")  # Telegram wants &amp; and &lt;

# The node types a message may use; anything else (attribute access, calls, loops, imports,
# assignments, macros) is refused before rendering.
ALLOWED_NODES: tuple[type[nodes.Node], ...] = (
    nodes.Template,
    nodes.Output,
    nodes.TemplateData,
    nodes.Name,
    nodes.Const,
    nodes.If,
    nodes.CondExpr,
    nodes.Not,
    nodes.And,
    nodes.Or,
    nodes.Compare,
    nodes.Operand,
    nodes.Concat,
    nodes.Filter,
    nodes.Test,
    nodes.Keyword,
)

Context = Mapping[str, str | int | None]


class RenderError(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class Rendered:
    text: str  # Telegram HTML, ready for parse_mode=HTML
    visible_length: int


def _finalize(value: object) -> object:
    return "" if value is None else value


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, minus what a message never needs and an attacker would use to exhaust memory:
    arithmetic (``'a' * 10**9``, ``'%999999999s' % x``) and calls (``'{:>999999999}'.format``).
    ``check`` refuses both already; this holds for a body that never went through it."""

    intercepted_binops = frozenset({"+", "-", "*", "/", "//", "%", "**"})
    intercepted_unops = frozenset({"+", "-"})

    def call_binop(self, context: JinjaContext, operator: str, left: Any, right: Any) -> NoReturn:
        raise SecurityError(f"the operator `{operator}` is not allowed in a message")

    def call_unop(self, context: JinjaContext, operator: str, arg: Any) -> NoReturn:
        raise SecurityError(f"the operator `{operator}` is not allowed in a message")

    def call(
        __self,
        __context: JinjaContext,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> NoReturn:
        raise SecurityError("calling a function or method is not allowed in a message")


class Renderer:
    """Checks and renders message bodies. Compiled templates are cached by body."""

    def __init__(self) -> None:
        env = _Sandbox(
            undefined=StrictUndefined,
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            finalize=_finalize,
        )
        env.globals.clear()  # no range, lipsum, cycler, joiner, namespace, dict
        env.filters = {name: env.filters[name] for name in FILTERS}
        env.tests = {name: env.tests[name] for name in TESTS}
        self.env = env
        self._compiled: dict[str, Template] = {}

    def check(self, body: str, audience: str, first_line: int = 1) -> list[Problem]:
        """What stops ``body`` from being a safe message for ``audience`` (client or staff)."""
        try:
            tree = self.env.parse(body)
            found = list(tree.find_all(nodes.Node))
            literal = _literal_text(tree)
        except TemplateSyntaxError as exc:
            line = first_line + (exc.lineno or 1) - 1
            return [Problem(line, "syntax", f"Jinja2 syntax: {exc.message}")]
        except RecursionError:  # Jinja2's parser and tree walk recurse: "((((...", "not not ..."
            return [Problem(first_line, "syntax", TOO_DEEP)]
        problems: list[Problem] = []
        known = VARIABLES[audience]
        for node in found:
            line = first_line + (getattr(node, "lineno", None) or 1) - 1
            if not isinstance(node, ALLOWED_NODES):
                problems.append(Problem(line, "unsafe", _refusal(node)))
            elif isinstance(node, nodes.Name) and node.name not in known:
                problems.append(
                    Problem(
                        line,
                        "variable",
                        f"unknown variable `{node.name}`; a {audience} message may use "
                        + ", ".join(sorted(known)),
                    )
                )
            elif isinstance(node, nodes.Filter) and node.name not in FILTERS:
                problems.append(
                    Problem(line, "unsafe", f"the filter `{node.name}` is not allowed here")
                )
            elif isinstance(node, nodes.Test) and node.name not in TESTS:
                problems.append(
                    Problem(line, "unsafe", f"the test `{node.name}` is not allowed here")
                )
        for match in BARE_MARKUP.finditer(literal):
            problems.append(
                Problem(
                    first_line,
                    "limit",
                    f"a bare `{match.group(0)}` breaks Telegram's HTML: write "
                    + ("&amp;" if match.group(0) == "&" else "&lt;"),
                )
            )
        for match in TAG.finditer(body):
            if match.group(1).lower() not in TELEGRAM_TAGS:
                line = first_line + body.count("\n", 0, match.start())
                problems.append(
                    Problem(line, "limit", f"Telegram does not support the tag <{match.group(1)}>")
                )
        return problems

    def render(self, body: str, context: Context) -> Rendered:
        """Render a checked body with plain data; ``RenderError`` if the result can't be sent."""
        try:
            template = self._compiled.get(body)
            if template is None:
                template = self._compiled[body] = self._compile(body)
            text = template.render(**context).strip()
        except UndefinedError as exc:
            raise RenderError([Problem(0, "variable", str(exc))]) from None
        except TemplateSyntaxError as exc:
            raise RenderError([Problem(0, "syntax", str(exc))]) from None
        except (TemplateError, TypeError) as exc:  # SecurityError; include/import: no loader
            raise RenderError([Problem(0, "unsafe", str(exc))]) from None
        except RecursionError:
            raise RenderError([Problem(0, "syntax", TOO_DEEP)]) from None
        visible = len(html.unescape(TAG.sub("", text)))
        if visible == 0:
            raise RenderError([Problem(0, "limit", "the message renders empty")])
        if visible > MAX_TEXT:
            raise RenderError(
                [Problem(0, "limit", f"{visible} characters: Telegram allows {MAX_TEXT}")]
            )
        return Rendered(text, visible)

    def _compile(self, body: str) -> Template:
        """The body compiled, if it keeps to the allowed nodes: a body saved without ``check``
        still can't loop, call or compute its way to a hung worker or a gigabyte string."""
        tree = self.env.parse(body)
        for node in tree.find_all(nodes.Node):
            if not isinstance(node, ALLOWED_NODES):
                raise RenderError([Problem(0, "unsafe", _refusal(node))])
        return self.env.from_string(tree)


def _literal_text(tree: nodes.Template) -> str:
    """The template's own text (not the data it prints), where markup rules apply."""
    return "".join(node.data for node in tree.find_all(nodes.TemplateData))


def _refusal(node: nodes.Node) -> str:
    what = {
        nodes.Getattr: "attribute access (`.name`)",
        nodes.Getitem: "item access (`[...]`)",
        nodes.Call: "calling a function or method",
        nodes.For: "loops",
        nodes.Assign: "assignments",
        nodes.Macro: "macros",
        nodes.Import: "imports",
        nodes.FromImport: "imports",
        nodes.Include: "includes",
        nodes.Extends: "extends",
    }.get(type(node), f"`{type(node).__name__}`")
    return f"not allowed in a message: {what}; use only variables, `if` and simple filters"
