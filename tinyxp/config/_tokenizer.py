"""The tokenizer of the override grammar: the tokens of a key, and the elements of a value.

Tokens are matched one at a time where the parser asks for them (Tokenizer.check), so
each rule says what it expected when one is missing. The elements of a value are split
at top-level commas, aware of quotes and brackets, then each is read as YAML.
"""
from __future__ import annotations

from collections import namedtuple

from ..errors import OverrideError

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import NoReturn

Token = namedtuple("Token", ("name", "text", "position"))
Token.__doc__ = "A token of an override: its rule name, its text and where it starts."


# Patterns, compiled on first use (re caches them): a run without overrides compiles none.
TOKEN_RULES = {
    "TILDE": r"~",
    "PLUSPLUS": r"\+\+",
    "PLUS": r"\+",
    "NAME": r"[A-Za-z0-9_][A-Za-z0-9_\-]*",
    "DOT": r"\.",
    "SLASH": r"/",
    "AT": r"@",
    "EQUALS": r"=",
    "FUNCTION": r"(range|choice|uniform|loguniform|randint)\(",
}
BRACKETS = {"[": "]", "{": "}"}
CLOSERS = {"]": "[", "}": "{"}


class Tokenizer:
    """Reads the tokens of one override, with the position of each for error carets."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.position = 0
        self.next_token: Token | None = None

    def check(self, name: str) -> bool:
        """Whether the next token is `name`; it is then kept for read()."""
        import re  # here: a run without overrides does not import it

        match = re.compile(TOKEN_RULES[name]).match(self.source, self.position)
        if match is None:
            return False
        self.next_token = Token(name, match.group(), self.position)
        return True

    def read(self) -> Token:
        """Consume the token that the last successful check() found."""
        token = self.next_token
        assert token is not None, "read() without a successful check()"
        self.position += len(token.text)
        self.next_token = None
        return token

    def expect(self, name: str, *, expected: str) -> Token:
        """Consume a `name` token; raises OverrideError saying what was expected."""
        if not self.check(name):
            self.raise_syntax_error(f"Expected {expected}, got {self.found()}")
        return self.read()

    def at_end(self) -> bool:
        return self.position >= len(self.source)

    def found(self) -> str:
        """The next character as a message shows it."""
        if self.at_end():
            return "the end of the token"
        return repr(self.source[self.position])

    def raise_syntax_error(self, message: str, *, start: int | None = None, end: int | None = None) -> NoReturn:
        start = self.position if start is None else start
        end = start + 1 if end is None else end
        raise OverrideError(message, source=self.source, pos=start, length=end - start)


def split_elements(source: str, start: int, *, closing: str | None = None) -> tuple[list[tuple[int, int]], int | None]:
    """elements := element (',' element)*: their spans from start, and where `closing` ends them.

    Commas inside quotes, brackets or after a backslash belong to their element. A
    quote opens a quoted scalar only where YAML would: at the start of an element or
    after '[', '{', ',' or ':' (so "it's" is plain text).
    """
    spans: list[tuple[int, int]] = []
    opened: list[tuple[str, int]] = []
    element_start = i = start
    previous = ""  # the last non-blank character of the element so far
    while i < len(source):
        char = source[i]
        if char == "\\" and source.startswith(",", i + 1):
            previous = "\\"
            i += 2
            continue
        if char in "'\"" and previous in ("", "[", "{", ",", ":"):
            i = skip_quoted(source, i)
            previous = char
            continue
        if char in BRACKETS:
            opened.append((char, i))
        elif char in CLOSERS:
            if not opened:
                raise OverrideError(
                    f"Unexpected {char!r} without a matching {CLOSERS[char]!r}", source=source, pos=i
                )
            opener, _ = opened.pop()
            if BRACKETS[opener] != char:
                raise OverrideError(
                    f"Expected {BRACKETS[opener]!r} to close {opener!r}, got {char!r}", source=source, pos=i
                )
        elif not opened and (char == "," or char == closing):
            spans.append((element_start, i))
            if char == closing:
                return spans, i
            element_start = i + 1
            previous = ""
            i += 1
            continue
        if not char.isspace():
            previous = char
        i += 1
    if opened:
        opener, position = opened[-1]
        raise OverrideError(f"Expected {BRACKETS[opener]!r} to close {opener!r}", source=source, pos=position)
    spans.append((element_start, len(source)))
    return spans, None


def skip_quoted(source: str, start: int) -> int:
    """The position after the quoted scalar opening at start."""
    quote = source[start]
    i = start + 1
    while i < len(source):
        char = source[i]
        if quote == '"' and char == "\\":
            i += 2
            continue
        if char == quote:
            if quote == "'" and source.startswith("'", i + 1):
                i += 2  # '' is an escaped single quote
                continue
            return i + 1
        i += 1
    raise OverrideError(f"Expected {quote!r} to close the quoted string", source=source, pos=start)
