"""The query language of `Reader.filter`: a small tokenizer and one function per rule.

    expr       := term (('|' | 'or') term)*
    term       := factor (('&' | 'and') factor)*
    factor     := ('~' | 'not') factor | '(' expr ')' | comparison
    comparison := operand op literal | operand ['not'] 'in' list
    operand    := field | summary '(' field ')'      summary: last, min, max, count
    op         := == | != | < | <= | > | >=
    literal    := number | 'string' | "string" | true | false | null | list
    list       := '[' literal (',' literal)* ']'

A query is parsed into nested tuples, checked against the known fields (unknown names get
did-you-mean, impossible comparisons are refused) and compiled into a predicate
`predicate(values, summary) -> bool`, where `values` maps field names to a run's values
and `summary(function, column)` returns a metric summary. Never evaluated with eval.

A missing value compares like null: it equals null, differs from everything else, and
matches no ordering comparison; nor does a value of another type.
"""
from __future__ import annotations

import operator
import re
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from .._values import type_name
from ..errors import QueryError, suggest

Predicate = Callable[[Dict[str, Any], Callable[[str, str], Any]], bool]

SUMMARIES = ("last", "min", "max", "count")
KEYWORDS = {"and", "or", "not", "in"}
CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
ORDERINGS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}

TOKEN_RULES = [
    ("SPACE", r"\s+"),
    ("OP", r"==|!=|<=|>=|<|>"),
    ("AND", r"&&?"),
    ("OR", r"\|\|?"),
    ("NOT", r"~|!(?!=)"),
    ("LPAREN", r"\("),
    ("RPAREN", r"\)"),
    ("LBRACKET", r"\["),
    ("RBRACKET", r"\]"),
    ("COMMA", r","),
    ("NUMBER", r"[-+]?(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])"),
    ("STRING", r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""),
    ("NAME", r"[A-Za-z_][\w\-]*(?:\.[\w\-/]+)*"),
]
RE_TOKEN = re.compile("|".join(f"(?P<{name}>{rule})" for name, rule in TOKEN_RULES))
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


class Token(NamedTuple):
    kind: str
    text: str
    pos: int


class Tokens:
    """The tokens of a query and a cursor over them: `check`, `expect`, `read`."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.items = tokenize(source)
        self.index = 0

    @property
    def next(self) -> Token:
        return self.items[self.index]

    def check(self, kind: str, *words: str) -> bool:
        token = self.next
        return token.kind == kind and (not words or token.text in words)

    def read(self) -> Token:
        token = self.items[self.index]
        self.index += 1
        return token

    def expect(self, kind: str, expected: str) -> Token:
        if not self.check(kind):
            raise self.error(f"Expected {expected}")
        return self.read()

    def error(self, message: str, token: Optional[Token] = None) -> QueryError:
        token = token or self.next
        if token.kind == "END":
            message += ", got the end of the query"
        else:
            message += f", got {token.text!r}"
        return QueryError(message, source=self.source, pos=token.pos, length=max(1, len(token.text)))


def tokenize(source: str) -> List[Token]:
    """The tokens of source, ending with an END token; raises QueryError on a bad character."""
    tokens = []
    pos = 0
    while pos < len(source):
        match = RE_TOKEN.match(source, pos)
        if match is None:
            char = source[pos]
            if char in "'\"":
                raise QueryError(f"Expected a closing {char} for the string", source=source, pos=pos)
            if char == "=":
                raise QueryError("Invalid operator '=': compare with '=='", source=source, pos=pos)
            raise QueryError(f"Invalid character {char!r}", source=source, pos=pos)
        kind = match.lastgroup
        if kind != "SPACE":
            text = match.group()
            if kind == "NAME" and text in KEYWORDS:
                kind = {"and": "AND", "or": "OR", "not": "NOT", "in": "IN"}[text]
            tokens.append(Token(kind, text, pos))
        pos = match.end()
    tokens.append(Token("END", "", len(source)))
    return tokens


# -- parsing: one function per rule --------------------------------------------------


def parse(source: str) -> Tuple[Any, ...]:
    """The syntax tree of a query; raises QueryError with a caret under the bad token."""
    tokens = Tokens(source)
    tree = parse_expr(tokens)
    if not tokens.check("END"):
        raise tokens.error("Expected '&', '|' or the end of the query")
    return tree


def parse_expr(tokens: Tokens) -> Tuple[Any, ...]:
    """expr := term (('|' | 'or') term)*"""
    terms = [parse_term(tokens)]
    while tokens.check("OR"):
        tokens.read()
        terms.append(parse_term(tokens))
    return terms[0] if len(terms) == 1 else ("or", terms)


def parse_term(tokens: Tokens) -> Tuple[Any, ...]:
    """term := factor (('&' | 'and') factor)*"""
    factors = [parse_factor(tokens)]
    while tokens.check("AND"):
        tokens.read()
        factors.append(parse_factor(tokens))
    return factors[0] if len(factors) == 1 else ("and", factors)


def parse_factor(tokens: Tokens) -> Tuple[Any, ...]:
    """factor := ('~' | 'not') factor | '(' expr ')' | comparison"""
    if tokens.check("NOT"):
        tokens.read()
        return ("not", parse_factor(tokens))
    if tokens.check("LPAREN"):
        opening = tokens.read()
        tree = parse_expr(tokens)
        if not tokens.check("RPAREN"):
            raise tokens.error(f"Expected ')' to close the '(' at column {opening.pos + 1}")
        tokens.read()
        return tree
    return parse_comparison(tokens)


def parse_comparison(tokens: Tokens) -> Tuple[Any, ...]:
    """comparison := operand op literal | operand ['not'] 'in' list"""
    operand = parse_operand(tokens)
    if tokens.check("OP"):
        op = tokens.read()
        return ("cmp", op.text, operand, parse_literal(tokens), op)
    negate = False
    if tokens.check("NOT"):
        tokens.read()
        negate = True
        if not tokens.check("IN"):
            raise tokens.error("Expected 'in' after 'not'")
    if tokens.check("IN"):
        op = tokens.read()
        if not tokens.check("LBRACKET"):
            raise tokens.error("Expected a list [...] after 'in'")
        values = parse_literal(tokens)
        return ("in", negate, operand, values, op)
    raise tokens.error(f"Expected a comparison (== != < <= > >=) or 'in' after {operand[1]!r}")


def parse_operand(tokens: Tokens) -> Tuple[Any, ...]:
    """operand := field | summary '(' field ')'"""
    if not tokens.check("NAME"):
        raise tokens.error("Expected a field name such as config.lr, '(' or 'not'")
    name = tokens.read()
    if not tokens.check("LPAREN"):
        return ("field", name.text, None, name)
    tokens.read()
    field = tokens.expect("NAME", f"a metric column in {name.text}(...)")
    if not tokens.check("RPAREN"):
        raise tokens.error(f"Expected ')' after {name.text}({field.text}")
    tokens.read()
    return ("field", field.text, name, field)


def parse_literal(tokens: Tokens) -> Any:
    """literal := number | 'string' | "string" | true | false | null | list"""
    token = tokens.next
    if token.kind == "NUMBER":
        tokens.read()
        text = token.text.replace("_", "")
        return float(text) if any(c in text for c in ".eE") else int(text)
    if token.kind == "STRING":
        tokens.read()
        return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), "\\" + m.group(1)), token.text[1:-1])
    if token.kind == "NAME" and token.text in CONSTANTS:
        tokens.read()
        return CONSTANTS[token.text]
    if token.kind == "LBRACKET":
        return parse_list(tokens)
    hint = " (quote strings: 'text')" if token.kind == "NAME" else ""
    raise tokens.error(f"Expected a value: a number, a 'string', true, false, null or a list{hint}")


def parse_list(tokens: Tokens) -> List[Any]:
    """list := '[' literal (',' literal)* ']'"""
    opening = tokens.read()
    if tokens.check("RBRACKET"):
        raise QueryError("Expected at least one value in the list", source=tokens.source, pos=opening.pos, length=tokens.next.pos - opening.pos + 1)
    values = [parse_literal(tokens)]
    while tokens.check("COMMA"):
        tokens.read()
        values.append(parse_literal(tokens))
    if not tokens.check("RBRACKET"):
        raise tokens.error("Expected ',' or ']' in the list")
    tokens.read()
    return values


# -- checking and compiling ----------------------------------------------------------


def compile_query(source: str, fields: Dict[str, str]) -> Predicate:
    """A predicate for the query, checked against `fields` (name -> type name).

    Raises QueryError for a syntax error, an unknown field or function, a metric column
    compared without a summary, or a comparison no value of the field can satisfy.
    """
    return compile_tree(parse(source), source, fields)


def compile_tree(tree: Tuple[Any, ...], source: str, fields: Dict[str, str]) -> Predicate:
    kind = tree[0]
    if kind in ("or", "and"):
        parts = [compile_tree(part, source, fields) for part in tree[1]]
        combine = any if kind == "or" else all
        return lambda values, summary: combine(part(values, summary) for part in parts)
    if kind == "not":
        inner = compile_tree(tree[1], source, fields)
        return lambda values, summary: not inner(values, summary)
    get, kinds = compile_operand(tree[2], source, fields)
    if kind == "in":
        _, negate, operand, options, token = tree
        for option in options:
            check_types(operand, "in", option, kinds, source, token)
        if negate:
            return lambda values, summary: not any(equal(get(values, summary), option) for option in options)
        return lambda values, summary: any(equal(get(values, summary), option) for option in options)
    _, op, operand, literal, token = tree
    check_types(operand, op, literal, kinds, source, token)
    if op == "==":
        return lambda values, summary: equal(get(values, summary), literal)
    if op == "!=":
        return lambda values, summary: not equal(get(values, summary), literal)
    compare = ORDERINGS[op]
    if isinstance(literal, str):
        return lambda values, summary: _str_order(compare, get(values, summary), literal)
    return lambda values, summary: _number_order(compare, get(values, summary), literal)


def _str_order(compare: Callable[[Any, Any], bool], value: Any, literal: str) -> bool:
    return isinstance(value, str) and compare(value, literal)


def _number_order(compare: Callable[[Any, Any], bool], value: Any, literal: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and compare(value, literal)


def compile_operand(operand: Tuple[Any, ...], source: str, fields: Dict[str, str]) -> Tuple[Callable[..., Any], set]:
    """(getter(values, summary), the type names the operand can have)."""
    _, name, function, token = operand
    kind = fields.get(name)
    if kind is None:
        raise QueryError(unknown_field_message(name, fields), source=source, pos=token.pos, length=len(name))
    metric = kind.startswith("list[")
    if function is None:
        if metric:
            raise QueryError(
                f"Cannot compare metric column {name!r} directly: use last({name}), min({name}), max({name}) or count({name})",
                source=source, pos=token.pos, length=len(name),
            )
        if kind == "artifact":
            raise QueryError(f"Cannot compare artifact column {name!r}", source=source, pos=token.pos, length=len(name))
        return (lambda values, summary: values.get(name)), set(kind.split("|"))
    if function.text not in SUMMARIES:
        hint = suggest(function.text, SUMMARIES)
        raise QueryError(f"Unknown function {function.text!r}: expected last, min, max or count{hint}", source=source, pos=function.pos, length=len(function.text))
    if not metric:
        raise QueryError(f"Cannot take {function.text}() of {name!r}: it is not a metric column", source=source, pos=token.pos, length=len(name))
    summary_name = function.text
    if summary_name == "count":
        kinds = {"int"}
    elif summary_name == "last":
        kinds = set(kind[5:-1].split("|"))
    else:
        kinds = {"int", "float", "any"}
    return (lambda values, summary: summary(summary_name, name)), kinds


def unknown_field_message(name: str, fields: Dict[str, str]) -> str:
    if not fields:
        return f"Unknown field {name!r}: no runs were found, so no field is known"
    hint = suggest(name, fields)
    if not hint:  # "lr" for "config.optimizer.lr": the last part alone
        tail = name.rsplit(".", 1)[-1]
        hint = next((f"; did you mean {field!r}?" for field in fields if field.rsplit(".", 1)[-1] == tail), "")
    return f"Unknown field {name!r}{hint}"


def literal_kind(value: Any) -> str:
    """null, bool, number, str or list: what a literal can be compared with."""
    kind = type_name(value)
    return "number" if kind in ("int", "float") else kind


COMPATIBLE = {"number": {"int", "float"}, "str": {"str"}, "bool": {"bool"}, "list": {"list"}, "null": set()}


def check_types(operand: Tuple[Any, ...], op: str, literal: Any, kinds: set, source: str, token: Token) -> None:
    """Refuse a comparison that no value of the operand can satisfy (e.g. config.lr > 'a')."""
    what = literal_kind(literal)
    name = operand[1] if operand[2] is None else f"{operand[2].text}({operand[1]})"
    if op in ORDERINGS and what not in ("number", "str"):
        raise QueryError(f"Cannot order by {render(literal)}: {op!r} compares numbers or strings", source=source, pos=token.pos, length=len(op))
    known = kinds - {"null", "any"}
    if what == "null" or not known or "any" in kinds or known & COMPATIBLE[what]:
        return
    raise QueryError(
        f"Cannot compare {name!r} ({'|'.join(sorted(known))}) with {render(literal)}",
        source=source, pos=token.pos, length=len(token.text),
    )


def render(literal: Any) -> str:
    kind = literal_kind(literal)
    if kind == "str":
        return f"the string {literal!r}"
    if kind == "null":
        return "null"
    if kind == "bool":
        return "true" if literal else "false"
    return f"{'the number' if kind == 'number' else 'the list'} {literal!r}"


def equal(value: Any, literal: Any) -> bool:
    """Equality that keeps booleans, numbers and strings apart (True != 1, 1 == 1.0)."""
    if value is None or literal is None:
        return value is None and literal is None
    if isinstance(value, bool) or isinstance(literal, bool):
        return type(value) is type(literal) and value == literal
    if isinstance(value, (list, tuple)):
        return isinstance(literal, list) and len(value) == len(literal) and all(equal(a, b) for a, b in zip(value, literal))
    if isinstance(value, (int, float)) and isinstance(literal, (int, float)):
        return value == literal
    return type(value) is type(literal) and value == literal
