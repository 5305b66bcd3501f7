"""Rendering: templates are untrusted code. Server-side template injection payloads (from the
public lists: PayloadsAllTheThings' Jinja2 section, HackTricks' Jinja2 SSTI page) are refused by the
check and, should one reach rendering without it, still reach no Python object, file or command.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from jinja2.defaults import DEFAULT_NAMESPACE

from service.content.rendering import MAX_TEXT, Renderer, RenderError

CONTEXT: dict[str, str | int | None] = {
    "first_name": "Ana",
    "value": "family",
    "reason": "my kids",
    "days_sober": 12,
    "next_milestone": 30,
    "coordinator_name": "Jordan",
}
REFUSED = {"unsafe", "variable", "syntax"}
# What leaks when an injection works: Python reprs, the output of `id`, file contents, paths.
SENSITIVE = (
    "uid=",
    "gid=",
    "root",
    "/bin",
    "/etc",
    "<class",
    "<module",
    "<function",
    "<built-in",
    "<bound",
    "<jinja2",
    "__",
    "subclasses",
    "popen",
    "Config",
)
LONG_JOIN = "{{ first_name" + "|join('aaaaaaaaaa')" * 9 + " }}"  # 3 * 11**9: 7 GB
NESTED_LOOPS = "{% for a in 'xxxxxxxxxx' %}" * 10 + "x" + "{% endfor %}" * 10  # 10**10 rounds

PAYLOADS = [
    pytest.param("{{ ''.__class__.__mro__[1].__subclasses__() }}", id="mro-subclasses"),
    pytest.param("{{ config.items() }}", id="config-items"),
    pytest.param("{{ config.__class__.__init__.__globals__['os'] }}", id="config-globals"),
    pytest.param("{{ self.__init__.__globals__ }}", id="self-globals"),
    pytest.param("{{ self._TemplateReference__context.cycler }}", id="self-context"),
    pytest.param("{{ lipsum.__globals__['os'].popen('id').read() }}", id="lipsum-os"),
    pytest.param("{{ cycler.__init__.__globals__.os.popen('id').read() }}", id="cycler-os"),
    pytest.param("{{ joiner.__init__.__globals__ }}", id="joiner-globals"),
    pytest.param("{{ namespace.__init__.__globals__ }}", id="namespace-globals"),
    pytest.param(
        r"{{ request|attr('application')|attr('\x5f\x5fglobals\x5f\x5f') }}", id="attr-hex"
    ),
    pytest.param(
        "{{ request.application.__globals__.__builtins__.__import__('os').popen('id').read() }}",
        id="request-builtins",
    ),
    pytest.param("{{ url_for.__globals__.os.popen('id').read() }}", id="url-for"),
    pytest.param("{{ get_flashed_messages.__globals__['current_app'].config }}", id="flashed"),
    pytest.param("{{ first_name|attr('__class__') }}", id="attr-filter"),
    pytest.param(r"{{ first_name['\x5f\x5fclass\x5f\x5f'] }}", id="getitem-hex"),
    pytest.param("{{ '{0.__class__}'.format(first_name) }}", id="format"),
    pytest.param("{{ first_name.format_map({}) }}", id="format-map"),
    pytest.param(
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
        id="for-subclasses",
    ),
    pytest.param("{% set x = first_name.__class__ %}{{ x }}", id="set"),
    pytest.param("{% with x = first_name.__class__ %}{{ x }}{% endwith %}", id="with"),
    pytest.param("{% include '/etc/passwd' %}", id="include"),
    pytest.param("{% import 'os' as os %}{{ os.popen('id') }}", id="import"),
    pytest.param("{% from 'os' import popen %}", id="from-import"),
    pytest.param("{% extends '/etc/passwd' %}", id="extends"),
    pytest.param("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", id="macro-recursion"),
    pytest.param("{{ range(10**9)|list }}", id="range-list"),
    pytest.param("{{ 'a'*10**9 }}", id="mul-gigabyte"),
    pytest.param("{{ 9**9**9**9 }}", id="pow"),
    pytest.param("{{ '%999999999s' % first_name }}", id="percent-width"),
    pytest.param("{{ '{:>999999999}'.format(first_name) }}", id="format-width"),
    pytest.param(LONG_JOIN, id="join-chain"),
    pytest.param(
        "{{ first_name|join(first_name|join(first_name|join(first_name))) }}", id="join-nested"
    ),
    pytest.param(NESTED_LOOPS, id="nested-loops"),
    pytest.param("{% autoescape false %}{{ first_name }}{% endautoescape %}", id="autoescape-off"),
    pytest.param("{{ first_name|safe }}", id="safe-filter"),
    pytest.param("{{ first_name|map('upper')|list }}", id="map-filter"),
    pytest.param("{{ first_name is callable }}", id="callable-test"),
    pytest.param("{{ first_name ", id="unclosed"),
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_check_refuses_an_injection_payload(payload: str) -> None:
    problems = Renderer().check(payload, "client")
    assert problems
    assert {problem.kind for problem in problems} & REFUSED


@pytest.mark.parametrize("payload", PAYLOADS)
def test_rendering_a_payload_without_the_check_leaks_nothing(payload: str) -> None:
    try:
        text = Renderer().render(payload, {**CONTEXT, "first_name": "Ana"}).text
    except RenderError as exc:
        assert exc.problems
        assert {problem.kind for problem in exc.problems} <= REFUSED | {"limit"}
        return
    for marker in SENSITIVE:
        assert marker not in text


# Each one runs `touch` if the template engine lets it: the file's absence proves nothing ran.
COMMANDS = [
    pytest.param("{{ lipsum.__globals__['os'].system('CMD') }}", id="lipsum"),
    pytest.param("{{ cycler.__init__.__globals__.os.popen('CMD').read() }}", id="cycler"),
    pytest.param("{{ joiner.__init__.__globals__.os.popen('CMD').read() }}", id="joiner"),
    pytest.param("{{ namespace.__init__.__globals__.os.popen('CMD').read() }}", id="namespace"),
    pytest.param(
        "{{ self._TemplateReference__context.cycler.__init__.__globals__.os.popen('CMD') }}",
        id="self-context",
    ),
    pytest.param(
        r"{{ lipsum|attr('\x5f\x5fglobals\x5f\x5f')|attr('\x5f\x5fgetitem\x5f\x5f')('os')"
        r"|attr('popen')('CMD')|attr('read')() }}",
        id="attr-chain",
    ),
    pytest.param(
        "{% for c in ''.__class__.__mro__[1].__subclasses__() %}"
        "{% if c.__name__ == '_wrap_close' %}"
        "{{ c.__init__.__globals__['popen']('CMD').read() }}"
        "{% endif %}{% endfor %}",
        id="wrap-close",
    ),
    pytest.param(
        "{{ first_name.__class__.__mro__[1].__subclasses__()[0].__init__.__globals__"
        "['__builtins__']['__import__']('os').system('CMD') }}",
        id="builtins-import",
    ),
]


def _touching(payload: str, tmp_path: Path) -> tuple[str, Path]:
    marker = tmp_path / "pwned"
    return payload.replace("CMD", f"touch {marker}"), marker


def test_a_command_payload_is_live_in_an_unsandboxed_jinja2(tmp_path: Path) -> None:
    """The control: the same kind of payload runs a command in a plain Jinja2 environment, so the
    file's absence in the tests below means the sandbox stopped it, not that the payload was
    broken."""
    payload, marker = _touching(COMMANDS[0].values[0], tmp_path)  # type: ignore[index]
    jinja2.Environment().from_string(payload).render()
    assert marker.exists()


@pytest.mark.parametrize("payload", COMMANDS)
def test_no_payload_runs_a_command(payload: str, tmp_path: Path) -> None:
    payload, marker = _touching(payload, tmp_path)
    renderer = Renderer()
    assert {problem.kind for problem in renderer.check(payload, "client")} & REFUSED
    with pytest.raises(RenderError):
        renderer.render(payload, CONTEXT)
    assert not marker.exists()


@pytest.mark.parametrize("payload", COMMANDS)
def test_the_sandbox_alone_holds_even_with_jinja2_s_default_globals(
    payload: str, tmp_path: Path
) -> None:
    """Below the static check: Jinja2's own globals (lipsum, cycler, joiner, namespace, range)
    put back, and the template compiled straight from the environment."""
    payload, marker = _touching(payload, tmp_path)
    env = Renderer().env
    env.globals.update(DEFAULT_NAMESPACE)
    with pytest.raises(jinja2.TemplateError):
        env.from_string(payload).render(**CONTEXT)
    assert not marker.exists()


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param("{{ 'a'*10**9 }}", id="mul"),
        pytest.param("{{ 9**9**9**9 }}", id="pow"),
        pytest.param("{{ '%999999999s' % first_name }}", id="percent"),
        pytest.param("{{ '{:>999999999}'.format(first_name) }}", id="format"),
        pytest.param("{{ -first_name }}", id="unary"),
    ],
)
def test_the_sandbox_alone_refuses_arithmetic_and_calls(payload: str) -> None:
    """A gigabyte string is built before any length limit can look at it; the sandbox refuses
    to compute it at all."""
    with pytest.raises(jinja2.exceptions.SecurityError):
        Renderer().env.from_string(payload).render(**CONTEXT)


def test_the_check_reports_an_unsafe_node_at_its_line() -> None:
    body = "Hi {{ first_name }},\nhow are you?\n{{ first_name.__class__ }}\n"
    problems = Renderer().check(body, "client", first_line=8)
    assert [(p.line, p.kind) for p in problems] == [(10, "unsafe")]
    assert "attribute access" in problems[0].message


def test_a_syntax_error_is_reported_at_its_line() -> None:
    problems = Renderer().check("Hello.\n{% if first_name %}\nhi\n", "client", first_line=5)
    assert [(p.line, p.kind) for p in problems] == [(7, "syntax")]


def test_client_data_is_escaped_and_template_markup_is_kept() -> None:
    renderer = Renderer()
    rendered = renderer.render(
        "<b>Hi</b> {{ first_name }}, {{ reason }}",
        {
            **CONTEXT,
            "first_name": "<b>x</b>",
            "reason": "Tom & 'Jerry' <a href=\"https://evil.example\">",
        },
    )
    assert rendered.text == (
        "<b>Hi</b> &lt;b&gt;x&lt;/b&gt;, Tom &amp; &#39;Jerry&#39; "
        "&lt;a href=&#34;https://evil.example&#34;&gt;"
    )
    assert rendered.visible_length == len(
        "Hi <b>x</b>, Tom & 'Jerry' <a href=\"https://evil.example\">"
    )


def test_none_renders_as_empty_and_an_if_skips_it() -> None:
    renderer = Renderer()
    context = {**CONTEXT, "coordinator_name": None, "days_sober": None}
    assert renderer.render("Hi {{ coordinator_name }}!", context).text == "Hi !"
    body = "Hello{% if days_sober %}, day {{ days_sober }}{% endif %}."
    assert renderer.render(body, context).text == "Hello."
    assert renderer.render(body, CONTEXT).text == "Hello, day 12."


def test_a_variable_missing_from_the_context_is_an_error_not_a_blank() -> None:
    context = {key: value for key, value in CONTEXT.items() if key != "first_name"}
    with pytest.raises(RenderError) as raised:
        Renderer().render("Hi {{ first_name }}, how was today?", context)
    [problem] = raised.value.problems
    assert problem.kind == "variable"
    assert "first_name" in problem.message


def test_the_allowed_features_pass_the_check_and_render() -> None:
    body = (
        "{% if reason %}You said: <i>{{ reason|e }}</i>. {% endif %}"
        "{{ coordinator_name|default('your coordinator')|capitalize }} and {{ value|upper }}"
        "{% if days_sober is none %}.{% else %}, {{ days_sober }} days{% endif %}"
        "{{ ' ' ~ first_name|lower }}"
    )
    renderer = Renderer()
    assert renderer.check(body, "client") == []
    assert renderer.render(body, CONTEXT).text == (
        "You said: <i>my kids</i>. Jordan and FAMILY, 12 days ana"
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{{ first_name|join('-') }}", id="join"),
        pytest.param("{{ first_name|join(reason) }}", id="variable-separator"),
    ],
)
def test_join_is_refused_since_a_message_has_no_lists_to_join(body: str) -> None:
    renderer = Renderer()
    assert [p.kind for p in renderer.check(body, "client")] == ["unsafe"]
    with pytest.raises(RenderError):
        renderer.render(body, CONTEXT)


def test_a_text_over_telegram_s_limit_is_refused() -> None:
    renderer = Renderer()
    assert renderer.render("a" * MAX_TEXT, CONTEXT).visible_length == MAX_TEXT
    # Markup is not text: Telegram counts what the reader sees.
    assert renderer.render("<b>" + "a" * MAX_TEXT + "</b>", CONTEXT).visible_length == MAX_TEXT
    for body, context in [
        ("a" * (MAX_TEXT + 1), CONTEXT),
        ("Hi {{ first_name }}", {**CONTEXT, "first_name": "x" * MAX_TEXT}),
        ("&amp;" * (MAX_TEXT + 1), CONTEXT),
    ]:
        with pytest.raises(RenderError) as raised:
            renderer.render(body, context)
        [problem] = raised.value.problems
        assert problem.kind == "limit"
        assert str(MAX_TEXT) in problem.message


def test_an_empty_message_is_refused() -> None:
    with pytest.raises(RenderError) as raised:
        Renderer().render("{% if reason %}{{ reason }}{% endif %}", {**CONTEXT, "reason": ""})
    assert [p.kind for p in raised.value.problems] == ["limit"]


def test_tags_telegram_does_not_support_are_reported() -> None:
    body = '<b>Hi</b> <i>there</i> <a href="https://x.example">link</a>\n<div>\n<script>x</script>'
    problems = Renderer().check(body, "client", first_line=3)
    assert {(p.line, p.kind) for p in problems} == {(4, "limit"), (5, "limit")}
    assert "<div>" in problems[0].message
    assert all("<script>" in p.message for p in problems[1:])


def test_staff_and_client_messages_use_their_own_variables() -> None:
    renderer = Renderer()
    assert renderer.check("{{ client_code }}: {{ severity }}, {{ console_link }}", "staff") == []
    staff = renderer.check("{{ first_name }} ({{ client_code }}) said {{ reason }}", "staff")
    assert [(p.kind, "`first_name`" in p.message or "`reason`" in p.message) for p in staff] == [
        ("variable", True),
        ("variable", True),
    ]
    client = renderer.check("Hi {{ first_name }}, see {{ console_link }}", "client")
    assert [p.kind for p in client] == ["variable"]
    assert "`console_link`" in client[0].message


@pytest.mark.parametrize(
    ("body", "bare"),
    [("Call 988 (Suicide & Crisis Lifeline).", "&"), ("Miss you <3", "<")],
)
def test_a_bare_ampersand_or_angle_bracket_is_reported(body: str, bare: str) -> None:
    problems = Renderer().check(body, "client")
    assert [(p.kind, f"`{bare}`" in p.message) for p in problems] == [("limit", True)]
    assert Renderer().check(body.replace("&", "&amp;").replace("<3", "&lt;3"), "client") == []
