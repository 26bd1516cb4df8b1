"""The regular expressions of the YAML subset, each with what it matches and why.

Every launch imports these, but a plain launch need not pay for them: importing `re`
(with enum and functools) and compiling the patterns cost a few ms, so each pattern is
compiled on its first use (lazy_compile), and `re` imported then. The patterns are
concatenations of raw strings commented piece by piece rather than re.VERBOSE patterns,
whose spaces and comments the compiler would read too (half as much again for RE_YAML11).
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    import re
    from typing import Protocol

    class AlwaysMatches(Protocol):
        """A pattern all of whose parts are optional: match() never returns None."""

        def match(self, string: str, pos: int = 0) -> re.Match[str]: ...


class LazyPattern:
    """A pattern compiled on its first use; then its methods are the compiled pattern's own."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __getattr__(self, name: str) -> object:
        import re

        compiled = re.compile(self.pattern)
        # set on the instance: later calls find them without coming back here
        self.__dict__.update(match=compiled.match, search=compiled.search, sub=compiled.sub)
        return getattr(compiled, name)


def lazy_compile(pattern: str) -> re.Pattern[str]:
    """re.compile(pattern), done on the first use of the result (use inline flags: (?s))."""
    return LazyPattern(pattern)  # type: ignore[return-value]


# Fragments shared by several patterns.

# The first character of a plain scalar: not a space, and not an indicator that would
# start something else (a sequence item, a key, a flow collection, a comment, an anchor,
# an alias, a tag, a block scalar, a quoted scalar, a directive, a reserved character).
# '-', '?' and ':' may still start one when a non-space follows them: "-3", ":x".
_PLAIN_FIRST = r"(?:[^\s\-?:,\[\]{}#&*!|>'\"%@`]|[-?:](?=\S))"
# Blank and comment lines, then the indentation of the next line (group).
_NEXT_LINES = r"(?:[ \t]*(?:#[^\n]*)?\n)*( *)"

# --- lines (the block parser) -------------------------------------------------------

# From the start of a line: the blank and comment lines, and the indentation of the
# next significant line. It matches at every position.
RE_NEXT: AlwaysMatches = lazy_compile(_NEXT_LINES)  # type: ignore[assignment]

# A plain key in block context (group 1), the ':' and the spaces after it.
RE_KEY = lazy_compile(
    r"("
    + _PLAIN_FIRST
    # then anything but a line break, ':' only when a non-space follows (a:b is one
    # word), '#' only right after a non-space (a#b; ' #' starts a comment)
    + r"(?:[^\n:#]|:(?=\S)|(?<=\S)\#)*"
    r")"
    # the key ends on a non-space: spaces before the ':' are not part of it
    r"(?<![ \t])[ \t]*"
    # the ':' ends the key when a space, a line break or the end follows
    r":(?:[ \t]+|(?=\n)|\Z)"
)

# The common lines `key: value` and `- value` with a plain value that holds no ':' and
# no '#', read with one match each, so that hand-written documents (which the fast path
# of _fast.py leaves to the general parser, say for a comment) are read fast too. One pattern for
# both (an item has no key) compiles faster than two.
RE_LINE = lazy_compile(
    # a key made of the usual characters of a name (group 1), ':' and spaces; or '-'
    r"(?:([A-Za-z_][\w.\-]*)[ \t]*:|-)[ ]+"
    # the value (group 2): it starts with none of the indicators (not even '-', '?',
    # ':') and ends on a non-space at the line end
    r"([^\s\-?:,\[\]{}#&*!|>'\"%@`](?:[^\n#:]*[^\s#:])?)[ \t]*(?:\n|\Z)"
    # then, as RE_NEXT, the blank and comment lines after it and the indentation of the
    # next line (group 3)
    + _NEXT_LINES
)

# The ':' after a quoted key, and the spaces after it.
RE_COLON = lazy_compile(r"[ \t]*:(?:[ \t]+|(?=\n)|\Z)")
RE_SPACES: AlwaysMatches = lazy_compile(r"[ \t]*")  # type: ignore[assignment]
# What may end a line after a value: spaces, a comment (only after a space), the line
# break or the end of the text.
RE_LINE_END = lazy_compile(r"[ \t]*(?:(?<=[ \t])#[^\n]*)?(?:\n|\Z)")
# Where a comment starts in a line: '#' after a space (a#b is a word).
RE_COMMENT = lazy_compile(r"[ \t]#")

# --- scalars ------------------------------------------------------------------------

# A single-quoted scalar: '' is a quote inside it; its text is group 1.
RE_SINGLE = lazy_compile(r"'([^']*(?:''[^']*)*)'")
# A double-quoted scalar: a backslash escapes any character, the line break included
# ((?s), re.S); its text, escapes unread, is group 1.
RE_DOUBLE = lazy_compile(r'(?s)"([^"\\]*(?:\\.[^"\\]*)*)"')
# What follows '|' or '>' in the header of a block scalar: an indentation digit and a
# chomping indicator, in either order (groups 1-2 or 3-4), or neither; then RE_LINE_END
# must match. It matches at every position.
RE_BLOCK_HEADER: AlwaysMatches = lazy_compile(  # type: ignore[assignment]
    r"(?:([1-9])([-+]?)|([-+])([1-9]?))?"
)
# A plain scalar that is a number in the core schema: an integer (group 1), a float
# (group 2), a hexadecimal (group 3) or an octal integer (group 4), tried in this order
# (12 is an integer before it is a float). One pattern rather than four: less to
# compile, and one match where a number or a date like 2024-01-31 took two.
RE_NUMBER = lazy_compile(
    r"([-+]?[0-9]+)\Z"  # 12, -3, +4, 010
    r"|([-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?)\Z"  # 1.5, .5, 10., 1e-3
    r"|0x([0-9a-fA-F]+)\Z"
    r"|0o([0-7]+)\Z"
)

# --- flow collections ---------------------------------------------------------------

# Spaces, line breaks and comments between the items of a flow collection; a comment
# starts only after a space or a line break. It matches at every position.
RE_FLOW_SPACE: AlwaysMatches = lazy_compile(  # type: ignore[assignment]
    r"[ \t\n]*(?:(?<=[ \t\n])#[^\n]*[ \t\n]*)*"
)
# A plain scalar inside a flow collection: it ends before , [ ] { }, before ': ' and
# ' #', and at a line break. '-', '?' and ':' may start it before a character that is
# neither a space nor a flow indicator.
RE_FLOW_PLAIN = lazy_compile(
    r"(?:[^\s\-?:,\[\]{}#&*!|>'\"%@`]|[-?:](?=[^\s,\[\]{}]))"
    r"(?:"
    r"[^\s,\[\]{}:#]+"  # ordinary characters
    r"|:(?=[^\s,\[\]{}])"  # ':' inside a word (a:b, http://x)
    r"|#"  # '#' inside a word (a#b): spaces end the scalar before a '#' (below)
    # spaces inside the scalar: only when it goes on after them
    r"|[ \t]+(?=[^\s,\[\]{}:#]|:[^\s,\[\]{}])"
    r")*"
)
# The word at a position, for error messages: up to a space or a flow indicator.
RE_TOKEN = lazy_compile(r"[^\s,\[\]{}]+")

# --- dumping ------------------------------------------------------------------------

# Strings dump() may write plain: nothing a reader would take for an indicator, a
# comment, a key or a document marker (numbers and words like true are checked apart).
RE_BLOCK_SAFE = lazy_compile(
    r"(?!---|\.\.\.)"  # not a document marker
    + _PLAIN_FIRST
    # no ': ' and no line end after ':' (a key), no ' #' (a comment), single spaces
    # between words (no trailing space, which a reader would drop)
    + r"(?:[^\s:]|:(?=\S)|[ ](?=[^\s#]))*\Z"
)
# Strings dump_value() may write plain on the command line: also no flow indicators,
# quotes, backslashes or parentheses, which the override grammar gives a meaning
# (sweeps a,b, range(...), a\,b); ':' and spaces only before an ordinary character.
_ORDINARY = r"[^\s:,\[\]{}#'\"\\()]"
RE_VALUE_SAFE = lazy_compile(
    r"(?:[^\s\-?:,\[\]{}#&*!|>'\"%@`\\()]|[-?:](?=" + _ORDINARY + r"))"
    r"(?:[: ]?" + _ORDINARY + r")*\Z"  # each ordinary character, maybe after ':' or ' '
)
# Strings that YAML 1.1 readers (PyYAML, so MLXP and Hydra's OmegaConf) resolve to
# something else than a string: dump() quotes them too, so that its files read the same
# everywhere. YAML11_START holds every first character they may have. (Alternatives
# with the same start are written once, which costs less to compile.)
RE_YAML11 = lazy_compile(
    r"(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF"  # booleans
    r"|<<|="  # the merge key and the value key
    r"|[-+]?(?:"  # numbers, signed or not:
    r"0b[0-1_]+|0x[0-9a-fA-F_]+"  # binary and hexadecimal integers,
    r"|0[0-7_]*"  # zero and octal integers,
    r"|[1-9][0-9_]*(?:(?::[0-5]?[0-9])+(?:\.[0-9_]*)?)?"  # decimal and base 60 (1:30),
    r"|(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)(?:[eE][-+][0-9]+)?)"  # floats (1., .5, 1.5e+3)
    # timestamps: 2024-01-31, with a time and a time zone
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?)?"
    r")\Z"
)
YAML11_START = frozenset("0123456789+-.yYnNoO<=")
# A quick yes for the common strings, plain in both dump() and dump_value().
RE_WORD = lazy_compile(r"[A-Za-z_/][A-Za-z0-9_./=+-]*\Z")
# The characters quote() looks at in a double-quoted scalar: all but printable ASCII,
# and '"' and the backslash (escape_char keeps the printable ones as they are).
RE_NEEDS_ESCAPE = lazy_compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')
