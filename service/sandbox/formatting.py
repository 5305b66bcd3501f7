"""Message text as Telegram renders it: the HTML parse mode, the length limit, command entities."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from service.sandbox.errors import BotApiError, bad_request
from service.sandbox.objects import JSON

MAX_TEXT_LENGTH = 4096
"""Telegram's limit, counted here in Unicode code points of the text *after* entity parsing."""
LEADING_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,64})?(?=\s|$)")


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets and lengths."""
    return len(text.encode("utf-16-le")) // 2


_HTML_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_CHARACTER_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


@dataclass
class _OpenTag:
    tag: str
    entity: JSON | None
    offset: int


class _TelegramHtml(HTMLParser):
    """Telegram's HTML parse mode: the allowed tags become entities, anything else is an error
    worded like Telegram's `can't parse entities: ...`."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self.text_parts: list[str] = []
        self.length = 0
        self.entities: list[JSON] = []
        self.stack: list[_OpenTag] = []
        self._line_starts = [0]
        for line in source.splitlines(keepends=True):
            self._line_starts.append(self._line_starts[-1] + len(line))

    def byte_offset(self, extra_characters: int = 0) -> int:
        line, column = self.getpos()
        index = self._line_starts[line - 1] + column + extra_characters
        return len(self.source[:index].encode())

    def parse_error(self, detail: str) -> BotApiError:
        """The error to raise for unparsable HTML, worded like Telegram's."""
        return bad_request(f"can't parse entities: {detail}")

    def append_text(self, text: str) -> None:
        self.text_parts.append(text)
        self.length += utf16_length(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        entity_type = _HTML_ENTITY_TYPES.get(tag)
        if entity_type is None:
            raise self.parse_error(
                f'Unsupported start tag "{tag}" at byte offset {self.byte_offset()}'
            )
        attributes = {name: value or "" for name, value in attrs}
        entity: JSON | None = {"type": entity_type}
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            raise self.parse_error(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self.byte_offset()}'
            )
        if tag == "a":
            entity = (
                {"type": "text_link", "url": attributes["href"]} if "href" in attributes else None
            )
        elif tag == "tg-emoji":
            entity = {"type": "custom_emoji", "custom_emoji_id": attributes.get("emoji-id", "")}
        elif tag == "blockquote" and "expandable" in attributes:
            entity = {"type": "expandable_blockquote"}
        elif tag == "code" and self.stack and self.stack[-1].tag == "pre":
            language = attributes.get("class", "").removeprefix("language-")
            pre_entity = self.stack[-1].entity
            if language and pre_entity is not None:
                pre_entity["language"] = language
            entity = None
        self.stack.append(_OpenTag(tag, entity, self.length))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack:
            raise self.parse_error(f"Unexpected end tag at byte offset {self.byte_offset()}")
        opened = self.stack.pop()
        if opened.tag != tag:
            raise self.parse_error(
                f"Unmatched end tag at byte offset {self.byte_offset()}, "
                f'expected "</{opened.tag}>", found "</{tag}>"'
            )
        if opened.entity is not None and self.length > opened.offset:
            self.entities.append(
                {**opened.entity, "offset": opened.offset, "length": self.length - opened.offset}
            )

    def handle_data(self, data: str) -> None:
        if "<" in data:
            offset = self.byte_offset(data.index("<"))
            raise self.parse_error(f'Unsupported start tag "" at byte offset {offset}')
        self.append_text(data)

    def handle_entityref(self, name: str) -> None:
        self.append_text(_HTML_CHARACTER_ENTITIES.get(name, f"&{name};"))

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in ("x", "X") else int(name)
            self.append_text(chr(code))
        except (ValueError, OverflowError):
            self.append_text(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        raise self.parse_error(f'Unsupported start tag "!--" at byte offset {self.byte_offset()}')

    def handle_decl(self, decl: str) -> None:
        raise self.parse_error(f'Unsupported start tag "!" at byte offset {self.byte_offset()}')

    def handle_pi(self, data: str) -> None:
        raise self.parse_error(f'Unsupported start tag "?" at byte offset {self.byte_offset()}')

    def unknown_decl(self, data: str) -> None:
        raise self.parse_error(f'Unsupported start tag "!" at byte offset {self.byte_offset()}')


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """Plain text and entities (UTF-16 offsets) of a text sent with parse_mode=HTML."""
    parser = _TelegramHtml(source)
    parser.feed(source)
    parser.close()
    if parser.stack:
        raise parser.parse_error(
            f'Can\'t find end tag corresponding to start tag "{parser.stack[-1].tag}"'
        )
    entities = sorted(parser.entities, key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(parser.text_parts), entities


def render_text(
    text: str | None, parse_mode: str | None, entities: list[Any] | None
) -> tuple[str, list[JSON]]:
    """What a chat shows for a text the bot sends: the plain text and its entities.

    HTML is parsed and validated; Markdown and MarkdownV2 are accepted but not interpreted (the
    text is kept as sent). The length limit applies to the plain text, counted in code points.
    """
    if text is None or not text.strip():
        raise bad_request("message text is empty")
    mode = (parse_mode or "").lower()
    if mode == "html":
        plain, parsed = parse_html(text)
    elif mode in ("", "markdown", "markdownv2"):
        plain, parsed = text, [entity for entity in entities or [] if isinstance(entity, dict)]
    else:
        raise bad_request("unsupported parse_mode")
    if not plain.strip():
        raise bad_request("message text is empty")
    if len(plain) > MAX_TEXT_LENGTH:
        raise bad_request("message is too long")
    return plain, parsed


def command_entities(text: str) -> list[JSON]:
    """A `bot_command` entity for a text starting with `/command` (like `/start TOKEN`)."""
    match = LEADING_COMMAND.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_length(match.group())}]
