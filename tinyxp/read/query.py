"""The query language of `Reader.filter`: a small tokenizer and one function per rule.

    expr       := term (('|' | 'or') term)*
    term       := factor (('&' | 'and') factor)*
    factor     := ('~' | 'not') factor | '(' expr ')' | comparison
    comparison := operand op literal | operand ['not'] 'in' list | literal ['not'] 'in' field
    operand    := field | summary '(' field ')'      summary: last, min, max, count
    op         := == | != | < | <= | > | >=
    literal    := number | 'string' | "string" | true | false | null | list
    list       := '[' literal (',' literal)* ']'

A query is tokenized (query_tree), parsed into a tree of nodes (Or, And, Not, Compare, In, Has over Field and
Summary operands), checked against the known fields (unknown names get
did-you-mean, impossible comparisons are refused) and compiled into a predicate
`predicate(values, summary) -> bool`, where `values` maps field names to a run's values
and `summary(function, column)` returns a metric summary, written out as one Python
function by query_code (the query's text is never evaluated); nesting deeper than
yaml.MAX_NESTING is an error.

A missing value compares like null: it equals null, differs from everything else, and
matches no ordering comparison; nor does a value of another type.
"""
from __future__ import annotations

import operator
import re

from .._values import type_name
from ..yaml import MAX_NUMBER_DIGITS
from ..errors import QueryError, suggest
from .query_code import to_function
from .query_tree import And, Compare, Field, Has, In, Not, Or, Summary, Tokens

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping

    from .query_code import ByColumns
    from .query_tree import Node, Operand, Token

    Predicate = Callable[[Mapping[str, Any], Callable[[str, str], Any]], bool]

SUMMARIES = ("last", "min", "max", "count")
# a summary column of a table (`tinyxp runs -c last(train.loss)`): the function and the column
SUMMARY_COLUMN = r"(\w+)\((.+)\)$"  # compiled when a table names its columns, not by every query
CONSTANTS = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}
ORDERINGS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}

ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"'}


def parse_column(column: str) -> Field | Summary:
    """A column of a table: `function(name)` is a Summary (checked by the caller), else a Field."""
    match = re.match(SUMMARY_COLUMN, column)
    return Summary(match.group(1), match.group(2)) if match else Field(column)


def unknown_summary_message(function: str, where: str = "") -> str:
    return f"Unknown function {function!r}{where}: expected last, min, max or count{suggest(function, SUMMARIES)}"


def not_a_metric_message(function: str, name: str) -> str:
    return f"Cannot take {function}() of {name!r}: it is not a metric column"


# -- parsing: one function per rule --------------------------------------------------


def parse(source: str) -> Node:
    """The syntax tree of a query; raises QueryError with a caret under the bad token."""
    tokens = Tokens(source)
    tree = parse_expr(tokens)
    if not tokens.check("END"):
        raise tokens.error("Expected '&', '|' or the end of the query")
    return tree


def parse_expr(tokens: Tokens) -> Node:
    """expr := term (('|' | 'or') term)*"""
    terms = [parse_term(tokens)]
    while tokens.check("OR"):
        tokens.read()
        terms.append(parse_term(tokens))
    return terms[0] if len(terms) == 1 else Or(terms)


def parse_term(tokens: Tokens) -> Node:
    """term := factor (('&' | 'and') factor)*"""
    factors = [parse_factor(tokens)]
    while tokens.check("AND"):
        tokens.read()
        factors.append(parse_factor(tokens))
    return factors[0] if len(factors) == 1 else And(factors)


def parse_factor(tokens: Tokens) -> Node:
    """factor := ('~' | 'not') factor | '(' expr ')' | comparison"""
    if tokens.check("NOT"):
        tokens.read()
        tree: Node = Not(parse_factor(tokens))
        tokens.depth -= 1
        return tree
    if tokens.check("LPAREN"):
        opening = tokens.read()
        tree = parse_expr(tokens)
        if not tokens.check("RPAREN"):
            raise tokens.error(f"Expected ')' to close the '(' at column {opening.pos + 1}")
        tokens.read()
        return tree
    return parse_comparison(tokens)


def parse_comparison(tokens: Tokens) -> Compare | In | Has:
    """comparison := operand op literal | operand ['not'] 'in' list | literal ['not'] 'in' field"""
    if tokens.check("STRING") or tokens.check("NUMBER") or tokens.check("NAME", *CONSTANTS):
        literal = parse_literal(tokens)
        negate = parse_not_in(tokens, "a value (a value is compared after its field: config.lr == 0.1, 'a' in tags)")
        op = tokens.read()
        field = tokens.expect("NAME", "a list field such as tags after 'in'")
        return Has(negate, Field(field.text, field), literal, op)
    operand = parse_operand(tokens)
    if tokens.check("OP"):
        op = tokens.read()
        return Compare(op.text, operand, parse_literal(tokens), op)
    if tokens.check("NOT") or tokens.check("IN"):
        negate = parse_not_in(tokens, "")  # 'in' or 'not' is there
        op = tokens.read()
        if not tokens.check("LBRACKET"):
            raise tokens.error("Expected a list [...] after 'in'")
        values = parse_literal(tokens)
        return In(negate, operand, values, op)
    raise tokens.error(f"Expected a comparison (== != < <= > >=) or 'in' after {operand.name!r}")


def parse_not_in(tokens: Tokens, where: str) -> bool:
    """['not'] 'in': whether 'not' is there (the cursor is left on 'in')."""
    negate = tokens.check("NOT")
    if negate:
        tokens.read()
        tokens.depth -= 1  # 'not in' nests nothing
    if not tokens.check("IN"):
        raise tokens.error(f"Expected 'in' after {repr('not') if negate else where}")
    return negate


def parse_operand(tokens: Tokens) -> Operand:
    """operand := field | summary '(' field ')'"""
    if not tokens.check("NAME"):
        raise tokens.error("Expected a field name such as config.lr, '(' or 'not'")
    name = tokens.read()
    if not tokens.check("LPAREN"):
        return Field(name.text, name)
    tokens.read()
    field = tokens.expect("NAME", f"a metric column in {name.text}(...)")
    if not tokens.check("RPAREN"):
        raise tokens.error(f"Expected ')' after {name.text}({field.text}")
    tokens.read()
    return Summary(name.text, field.text, name, field)


def parse_literal(tokens: Tokens) -> Any:
    """literal := number | 'string' | "string" | true | false | null | list"""
    token = tokens.next
    if token.kind == "NUMBER":
        tokens.read()
        text = token.text.replace("_", "")
        if any(c in text for c in ".eE"):
            return float(text)
        if len(text) > MAX_NUMBER_DIGITS:  # Python refuses to convert longer ones
            raise QueryError(f"Invalid integer: more than {MAX_NUMBER_DIGITS} digits", source=tokens.source, pos=token.pos, length=len(token.text))
        return int(text)
    if token.kind == "STRING":
        tokens.read()
        text = token.text[1:-1]
        return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), "\\" + m.group(1)), text) if "\\" in text else text
    if token.kind == "NAME" and token.text in CONSTANTS:
        tokens.read()
        return CONSTANTS[token.text]
    if token.kind == "LBRACKET":
        return parse_list(tokens)
    hint = " (quote strings: 'text')" if token.kind == "NAME" else ""
    raise tokens.error(f"Expected a value: a number, a 'string', true, false, null or a list{hint}")


def parse_list(tokens: Tokens) -> list[Any]:
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


def compile_query(source: str, fields: dict[str, str], aliases: dict[str, str] | None = None) -> Predicate:
    """A predicate for the query, checked against `fields` (name -> type name).

    `aliases` maps a field name of the query to the key the values have it under
    (`id` -> `info.run_id`). Raises QueryError for a syntax error, an unknown field or
    function, a metric column compared without a summary, or a comparison no value of
    the field can satisfy.
    """
    return compile_query_parts(source, fields, aliases)[0]


def compile_query_parts(source: str, fields: dict[str, str], aliases: dict[str, str] | None = None) -> tuple[Predicate, ByColumns | None]:
    """(compile_query's predicate, (the keys the query reads, a maker of predicate(*their values))).

    The second is None unless the query compares fields with strings and numbers only
    (==, !=, in, not in); the function it makes takes None for a missing value.
    """
    aliases = aliases or {}
    return to_function(parse(source), lambda tree: compile_tree(tree, source, fields, aliases), aliases)


def compile_tree(tree: Node, source: str, fields: dict[str, str], aliases: dict[str, str]) -> Predicate:
    if isinstance(tree, (Or, And)):
        return combine([compile_tree(part, source, fields, aliases) for part in tree.parts], isinstance(tree, Or))
    if isinstance(tree, Not):
        inner = compile_tree(tree.inner, source, fields, aliases)
        return lambda values, summary: not inner(values, summary)
    get, kinds = compile_operand(tree.operand, source, fields, aliases)
    if isinstance(tree, Has):
        return compile_has(tree, get, kinds, source)
    if isinstance(tree, In):
        options = tree.options
        for option in options:
            check_types(tree.operand, "in", option, kinds, source, tree.token)
        if tree.negate:
            return lambda values, summary: not any(equal(get(values, summary), option) for option in options)
        return lambda values, summary: any(equal(get(values, summary), option) for option in options)
    op, literal = tree.op, tree.literal
    check_types(tree.operand, op, literal, kinds, source, tree.token)
    if op == "==":
        return lambda values, summary: equal(get(values, summary), literal)
    if op == "!=":
        return lambda values, summary: not equal(get(values, summary), literal)
    compare = ORDERINGS[op]
    if isinstance(literal, str):
        return lambda values, summary: _str_order(compare, get(values, summary), literal)
    return lambda values, summary: _number_order(compare, get(values, summary), literal)


def combine(parts: list[Predicate], any_of: bool) -> Predicate:
    """The parts joined by `or` (any_of) or `and`, evaluated left to right, stopping early."""
    first, rest = parts[0], combine(parts[1:], any_of) if len(parts) > 2 else parts[1]
    if any_of:
        return lambda values, summary: first(values, summary) or rest(values, summary)
    return lambda values, summary: first(values, summary) and rest(values, summary)


def compile_has(tree: Has, get: Callable[..., Any], kinds: set[str], source: str) -> Predicate:
    """literal ['not'] in field: the field must hold lists (tags, a config list)."""
    if not kinds & {"list", "any"}:
        token = tree.operand.token
        assert token is not None  # a parsed operand has its token
        raise QueryError(
            f"Cannot look for {render(tree.literal)} in {tree.operand.name!r} ({'|'.join(sorted(kinds))}): it is not a list",
            source=source, pos=token.pos, length=len(token.text),
        )
    literal, negate = tree.literal, tree.negate
    return lambda values, summary: negate != has(get(values, summary), literal)


def has(value: Any, literal: Any) -> bool:
    return isinstance(value, list) and any(equal(item, literal) for item in value)


def _str_order(compare: Callable[[Any, Any], bool], value: Any, literal: str) -> bool:
    return isinstance(value, str) and compare(value, literal)


def _number_order(compare: Callable[[Any, Any], bool], value: Any, literal: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and compare(value, literal)


def compile_operand(operand: Operand, source: str, fields: dict[str, str], aliases: dict[str, str]) -> tuple[Callable[..., Any], set[str]]:
    """(getter(values, summary), the type names the operand can have)."""
    name, token = operand.name, operand.token
    assert token is not None  # a parsed operand has its tokens
    kind = fields.get(name)
    if kind is None:
        raise QueryError(unknown_field_message(name, fields), source=source, pos=token.pos, length=len(name))
    metric = kind.startswith("list[")
    if isinstance(operand, Field):
        if metric:
            raise QueryError(
                f"Cannot compare metric column {name!r} directly: use last({name}), min({name}), max({name}) or count({name})",
                source=source, pos=token.pos, length=len(name),
            )
        if kind == "artifact":
            raise QueryError(f"Cannot compare artifact column {name!r}", source=source, pos=token.pos, length=len(name))
        key = aliases.get(name, name)
        return (lambda values, summary: values.get(key)), set(kind.split("|"))
    summary_name = operand.function
    if summary_name not in SUMMARIES:
        function = operand.function_token
        assert function is not None  # a parsed operand has its tokens
        raise QueryError(unknown_summary_message(summary_name), source=source, pos=function.pos, length=len(summary_name))
    if not metric:
        raise QueryError(not_a_metric_message(summary_name, name), source=source, pos=token.pos, length=len(name))
    if summary_name == "count":
        kinds = {"int"}
    elif summary_name == "last":
        kinds = set(kind[5:-1].split("|"))
    else:
        kinds = {"int", "float", "any"}
    return (lambda values, summary: summary(summary_name, name)), kinds


def unknown_field_message(name: str, fields: dict[str, str]) -> str:
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


def check_types(operand: Operand, op: str, literal: Any, kinds: set[str], source: str, token: Token) -> None:
    """Refuse a comparison that no value of the operand can satisfy (e.g. config.lr > 'a')."""
    what = literal_kind(literal)
    name = operand.text
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
