"""The query language: parsing, checking against fields, evaluation, error messages."""
from __future__ import annotations

import unittest

from tinyxp.errors import QueryError
from tinyxp.read.query import compile_query, compile_query_parts, parse
from tinyxp.read.query_tree import tokenize

FIELDS = {
    "config.lr": "float",
    "config.seed": "int",
    "config.model": "str",
    "config.layers": "list",
    "config.flag": "bool",
    "config.mixed": "int|str",
    "config.maybe": "float|null",
    "tags": "list",
    "config.anything": "any",
    "info.status": "str",
    "train.loss": "list[float]",
    "artifacts.pickle/last.pkl": "artifact",
}

RUNS = [
    {"config.lr": 0.1, "config.seed": 0, "config.model": "mlp", "config.layers": [1, 2], "config.flag": True, "info.status": "COMPLETE",
     "tags": ["baseline", "good"]},
    {"config.lr": 0.01, "config.seed": 1, "config.model": "cnn", "config.layers": [3], "config.flag": False, "info.status": "FAILED",
     "tags": ["good"]},
    {"config.lr": 0.001, "config.seed": 2, "config.model": "mlp", "config.mixed": "x", "info.status": "COMPLETE", "tags": []},
    {"config.seed": 1, "config.mixed": 3, "info.status": "RUNNING"},
]
LAST = {0: 0.5, 1: 0.05, 2: 0.2}


def matching(query: str) -> list:
    predicate = compile_query(query, FIELDS)
    found = []
    for index, values in enumerate(RUNS):

        def summary(function: str, column: str, index: int = index) -> object:
            if index not in LAST:
                return None
            return {"last": LAST[index], "min": LAST[index] / 2, "max": 1.0, "count": 10}[function]

        if predicate(values, summary):
            found.append(index)
    return found


def error(query: str, fields: dict = FIELDS) -> str:
    with unittest.TestCase().assertRaises(QueryError) as caught:
        compile_query(query, fields)
    return str(caught.exception)


class EvaluationTest(unittest.TestCase):
    def test_comparisons(self) -> None:
        cases = {
            "config.lr == 0.1": [0],
            "config.lr != 0.1": [1, 2, 3],
            "config.lr < 0.05": [1, 2],
            "config.lr <= 0.01": [1, 2],
            "config.lr > 0.01": [0],
            "config.lr >= 0.01": [0, 1],
            "config.seed == 1.0": [1, 3],
            "config.model == 'mlp'": [0, 2],
            'config.model == "cnn"': [1],
            "config.model < 'd'": [1],
            "config.flag == true": [0],
            "config.flag == false": [1],
            "config.flag == null": [2, 3],
            "config.lr == null": [3],
            "config.layers == [1, 2]": [0],
            "config.seed in [0, 2]": [0, 2],
            "config.seed not in [0, 2]": [1, 3],
            "info.status in ['COMPLETE', 'RUNNING']": [0, 2, 3],
            "config.mixed == 'x'": [2],
            "config.mixed > 1": [3],
            "config.lr > -1e3": [0, 1, 2],
            "config.lr < .05": [1, 2],
        }
        for query, expected in cases.items():
            with self.subTest(query=query):
                self.assertEqual(matching(query), expected)

    def test_boolean_operators_and_precedence(self) -> None:
        cases = {
            "config.seed == 0 | config.seed == 2 & config.model == 'cnn'": [0],
            "(config.seed == 0 | config.seed == 2) & config.model == 'mlp'": [0, 2],
            "config.seed == 1 and info.status == 'RUNNING'": [3],
            "config.seed == 0 or config.seed == 2": [0, 2],
            "~config.seed == 1": [0, 2],
            "not config.seed == 1": [0, 2],
            "not (config.seed == 1 or config.seed == 0)": [2],
            "~~config.seed == 1": [1, 3],
            "config.seed == 1 && config.lr == 0.01 || config.seed == 2": [1, 2],
        }
        for query, expected in cases.items():
            with self.subTest(query=query):
                self.assertEqual(matching(query), expected)

    def test_summaries(self) -> None:
        cases = {
            "last(train.loss) < 0.1": [1],
            "min(train.loss) < 0.2": [1, 2],
            "max(train.loss) == 1": [0, 1, 2],
            "count(train.loss) >= 10": [0, 1, 2],
            "last(train.loss) > 0.1 & config.model == 'mlp'": [0, 2],
        }
        for query, expected in cases.items():
            with self.subTest(query=query):
                self.assertEqual(matching(query), expected)

    def test_type_mismatch_between_runs_does_not_match(self) -> None:
        self.assertEqual(matching("config.mixed < 'z'"), [2])

    def test_bool_is_not_a_number(self) -> None:
        predicate = compile_query("config.seed == 1", {"config.seed": "bool|int"})
        self.assertFalse(predicate({"config.seed": True}, None))
        self.assertTrue(predicate({"config.seed": 1}, None))

    def test_string_escapes(self) -> None:
        tree = parse(r"config.model == 'it\'s \\ \n'")
        self.assertEqual(tree.literal, "it's \\ \n")

    def test_numbers(self) -> None:
        for text, value in {"1": 1, "-3": -3, "1.5": 1.5, "1e-3": 0.001, "10.": 10.0, ".5": 0.5, "1_000": 1000}.items():
            with self.subTest(text=text):
                literal = parse(f"config.lr == {text}").literal
                self.assertEqual(literal, value)
                self.assertIs(type(literal), type(value))

    def test_constants_and_python_spellings(self) -> None:
        for text, value in {"true": True, "True": True, "false": False, "False": False, "null": None, "None": None}.items():
            with self.subTest(text=text):
                self.assertIs(parse(f"config.flag == {text}").literal, value)

    def test_names_with_slashes_and_dashes(self) -> None:
        self.assertEqual([t.text for t in tokenize("a-b.c/d == 1")][:2], ["a-b.c/d", "=="])

    def test_a_value_in_a_list_field(self) -> None:
        cases = {
            "'baseline' in tags": [0],
            "'good' in tags & config.model == 'mlp'": [0],
            "'good' not in tags": [2, 3],
            "not 'good' in tags": [2, 3],
            "2 in config.layers": [0],
            "2.0 in config.layers | 3 in config.layers": [0, 1],
            "null in tags": [],
            "true in config.anything": [],
        }
        for query, expected in cases.items():
            with self.subTest(query=query):
                self.assertEqual(matching(query), expected)

    def test_token_repr(self) -> None:
        self.assertEqual(repr(tokenize("a == 1")[1]), "Token('OP', '==', 2)")


class FastComparisonTest(unittest.TestCase):
    """Comparisons of a field with strings and numbers take shortcuts: the same answers as equal()."""

    def test_equality_and_membership_keep_booleans_numbers_and_strings_apart(self) -> None:
        self.assertEqual(matching("config.seed == 1.0"), [1, 3])
        self.assertEqual(matching("config.seed in [1, 2.0]"), [1, 2, 3])
        self.assertEqual(matching("config.mixed in ['x', 3]"), [2, 3])
        self.assertEqual(matching("config.mixed in ['x', 'y']"), [2])
        self.assertEqual(matching("config.mixed not in [3]"), [0, 1, 2])
        self.assertEqual(matching("config.maybe in [null, 0.5]"), [0, 1, 2, 3])  # a missing value is null
        self.assertEqual(matching("last(train.loss) in [0.5, 0.05]"), [0, 1])
        predicate = compile_query("config.seed in [1, 2]", {"config.seed": "bool|int"})
        self.assertEqual([predicate({"config.seed": value}, None) for value in (True, 1, 2.0, "1")], [False, True, True, False])
        self.assertEqual(matching("config.model == 'mlp' & config.seed == 2 & info.status == 'COMPLETE'"), [2])
        self.assertEqual(matching("config.seed == 9 | config.model == 'cnn' | config.mixed == 3"), [1, 3])

    def test_deep_queries_are_written_out_in_part(self) -> None:
        deep = "~" * 41 + "(config.seed == 1)"  # deeper than query_code.MAX_DEPTH
        self.assertEqual(matching(deep), [0, 2])
        nested = "(" * 35 + "config.model == 'mlp' | config.seed in [1]" + ")" * 35
        self.assertEqual(matching(nested), [0, 1, 2, 3])
        deep_and = "~" * 32 + "(config.seed == 1 & config.model == 'cnn' & info.status == 'FAILED')"
        self.assertEqual(matching(deep_and), [1])  # an even number of negations
        deep_or = "~" * 32 + "(config.seed == 0 | config.seed == 2 | info.status == 'RUNNING')"
        self.assertEqual(matching(deep_or), [0, 2, 3])

    def test_negations_of_written_out_comparisons(self) -> None:
        self.assertEqual(matching("config.seed != 1"), [0, 2])
        self.assertEqual(matching("config.model != 'mlp'"), [1, 3])
        self.assertEqual(matching("info.status not in ['COMPLETE', 'FAILED']"), [3])
        self.assertEqual(matching("config.seed not in [0, 2]"), [1, 3])

    def test_aliases_name_the_key_the_values_have(self) -> None:
        predicate = compile_query("id in [2, 3] & status == 'FAILED'", {**FIELDS, "id": "int", "status": "str"},
                                  {"id": "info.run_id", "status": "info.status"})
        self.assertTrue(predicate({"info.run_id": 2, "info.status": "FAILED"}, lambda *_: None))
        self.assertFalse(predicate({"info.run_id": 2, "info.status": "COMPLETE"}, lambda *_: None))


class SyntaxErrorTest(unittest.TestCase):
    def test_each_syntax_error(self) -> None:
        cases = {
            "config.lr <": "Expected a value: a number, a 'string', true, false, null or a list, got the end of the query\n"
            "    config.lr <\n"
            "               ^",
            "config.lr 0.1": "Expected a comparison (== != < <= > >=) or 'in' after 'config.lr', got '0.1'\n"
            "    config.lr 0.1\n"
            "              ^^^",
            "config.lr = 0.1": "Invalid operator '=': compare with '=='\n    config.lr = 0.1\n              ^",
            "(config.lr == 0.1": "Expected ')' to close the '(' at column 1, got the end of the query\n"
            "    (config.lr == 0.1\n"
            "                     ^",
            "config.lr == 0.1)": "Expected '&', '|' or the end of the query, got ')'\n"
            "    config.lr == 0.1)\n"
            "                    ^",
            "config.model == mlp": "Expected a value: a number, a 'string', true, false, null or a list (quote strings: 'text'), got 'mlp'\n"
            "    config.model == mlp\n"
            "                    ^^^",
            "config.model == 'mlp": "Expected a closing ' for the string\n    config.model == 'mlp\n                    ^",
            "config.seed in 1": "Expected a list [...] after 'in', got '1'\n    config.seed in 1\n                   ^",
            "config.seed in [1 2]": "Expected ',' or ']' in the list, got '2'\n    config.seed in [1 2]\n                      ^",
            "config.seed not 1": "Expected 'in' after 'not', got '1'\n    config.seed not 1\n                    ^",
            "& config.seed == 1": "Expected a field name such as config.lr, '(' or 'not', got '&'\n"
            "    & config.seed == 1\n"
            "    ^",
            "config.seed == 1 $": "Invalid character '$'\n    config.seed == 1 $\n                     ^",
            "last(train.loss": "Expected ')' after last(train.loss, got the end of the query\n"
            "    last(train.loss\n"
            "                   ^",
            "last(1) < 2": "Expected a metric column in last(...), got '1'\n    last(1) < 2\n         ^",
            "'a' == tags": "Expected 'in' after a value (a value is compared after its field: config.lr == 0.1, 'a' in tags), got '=='\n"
            "    'a' == tags\n"
            "        ^^",
            "'a' not tags": "Expected 'in' after 'not', got 'tags'\n    'a' not tags\n            ^^^^",
            "'a' in 'b'": "Expected a list field such as tags after 'in', got \"'b'\"\n    'a' in 'b'\n           ^^^",
        }
        for query, message in cases.items():
            with self.subTest(query=query):
                self.assertEqual(error(query), message)

    def test_empty_list(self) -> None:
        self.assertEqual(
            error("config.seed in []"),
            "Expected at least one value in the list\n    config.seed in []\n                   ^^",
        )


class FieldErrorTest(unittest.TestCase):
    def test_a_value_in_a_field_that_is_not_a_list(self) -> None:
        self.assertEqual(
            error("'mlp' in config.model"),
            "Cannot look for the string 'mlp' in 'config.model' (str): it is not a list\n    'mlp' in config.model\n             ^^^^^^^^^^^^",
        )
        self.assertEqual(error("'a' in tag").split("\n")[0], "Unknown field 'tag'; did you mean 'tags'?")

    def test_unknown_field_with_did_you_mean(self) -> None:
        self.assertEqual(
            error("config.sed == 1"),
            "Unknown field 'config.sed'; did you mean 'config.seed'?\n    config.sed == 1\n    ^^^^^^^^^^",
        )

    def test_unknown_field_matched_by_its_last_part(self) -> None:
        self.assertEqual(error("lr < 1").split("\n")[0], "Unknown field 'lr'; did you mean 'config.lr'?")

    def test_unknown_field_without_suggestion(self) -> None:
        self.assertEqual(error("zzzzzz == 1").split("\n")[0], "Unknown field 'zzzzzz'")

    def test_unknown_field_when_there_are_no_runs(self) -> None:
        self.assertEqual(error("config.lr == 1", {}).split("\n")[0], "Unknown field 'config.lr': no runs were found, so no field is known")

    def test_type_mismatch(self) -> None:
        self.assertEqual(
            error("config.lr > 'a'"),
            "Cannot compare 'config.lr' (float) with the string 'a'\n    config.lr > 'a'\n              ^",
        )
        self.assertEqual(error("info.status == 1").split("\n")[0], "Cannot compare 'info.status' (str) with the number 1")
        self.assertEqual(error("config.seed in [1, 'a']").split("\n")[0], "Cannot compare 'config.seed' (int) with the string 'a'")
        self.assertEqual(error("count(train.loss) == 'a'").split("\n")[0], "Cannot compare 'count(train.loss)' (int) with the string 'a'")

    def test_ordering_by_a_non_orderable_value(self) -> None:
        self.assertEqual(error("config.lr < null").split("\n")[0], "Cannot order by null: '<' compares numbers or strings")
        self.assertEqual(error("config.lr >= [1]").split("\n")[0], "Cannot order by the list [1]: '>=' compares numbers or strings")
        self.assertEqual(error("config.flag > true").split("\n")[0], "Cannot order by true: '>' compares numbers or strings")

    def test_metric_column_without_summary(self) -> None:
        self.assertEqual(
            error("train.loss < 1").split("\n")[0],
            "Cannot compare metric column 'train.loss' directly: use last(train.loss), min(train.loss), max(train.loss) or count(train.loss)",
        )

    def test_artifact_column(self) -> None:
        self.assertEqual(error("artifacts.pickle/last.pkl == 1").split("\n")[0], "Cannot compare artifact column 'artifacts.pickle/last.pkl'")

    def test_unknown_function(self) -> None:
        self.assertEqual(
            error("mean(train.loss) < 1"),
            "Unknown function 'mean': expected last, min, max or count\n    mean(train.loss) < 1\n    ^^^^",
        )
        self.assertEqual(error("lst(train.loss) < 1").split("\n")[0], "Unknown function 'lst': expected last, min, max or count; did you mean 'last'?")

    def test_summary_of_a_non_metric_field(self) -> None:
        self.assertEqual(error("last(config.lr) < 1").split("\n")[0], "Cannot take last() of 'config.lr': it is not a metric column")

    def test_null_is_comparable_with_everything(self) -> None:
        self.assertEqual(matching("config.model != null & config.layers == null"), [2])


if __name__ == "__main__":
    unittest.main()


class TokenizerTest(unittest.TestCase):
    """The tokenizer is written out by hand: it gives the tokens of the regular expressions it replaced."""

    RULES = [
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
        ("NUMBER", r"[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])"),
        ("STRING", r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""),
        ("NAME", r"[A-Za-z_][\w\-]*(?:\.[\w\-/]+)*"),
    ]
    # the characters the rules tell apart, and others: unicode digits, letters and spaces, a newline
    ALPHABET = "aeEzZ_09 .,+-/\\'\"=!<>&|~()[]$\n\t\u00a0\u0663\u00b2\u2167\u00e9\u4e2d#"

    def expected(self, source: str) -> list:
        """(kind, text, pos) of each token as the regular expressions read them, or ("error", pos) at the first bad character."""
        import re

        pattern = re.compile("|".join(f"(?P<{name}>{rule})" for name, rule in self.RULES))
        tokens, pos = [], 0
        while pos < len(source):
            match = pattern.match(source, pos)
            if match is None:
                return [*tokens, ("error", pos)]
            kind = match.lastgroup
            if kind != "SPACE":
                text = match.group()
                tokens.append((text.upper() if kind == "NAME" and text in ("and", "or", "not", "in") else kind, text, pos))
            pos = match.end()
        return [*tokens, ("END", "", len(source))]

    def tokens(self, source: str) -> list:
        try:
            return [(token.kind, token.text, token.pos) for token in tokenize(source)]
        except QueryError as err:
            found = [(token.kind, token.text, token.pos) for token in tokenize(source[: err.pos])][:-1]
            return [*found, ("error", err.pos)]

    def test_random_text_gives_the_tokens_of_the_regular_expressions(self) -> None:
        import random

        rng = random.Random(13)
        pieces = [*self.ALPHABET, "config.lr", "a.b/c-d", "and", "or", "not", "in", "1e5", "1.5e-3", ".5", "1_000", "'a\\'b'", "\"x\\\\\"",
                  "\\\n", "1.", "e+", "'\\\n'"]
        for _ in range(6000):
            source = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 12)))
            with self.subTest(source=source):
                self.assertEqual(self.tokens(source), self.expected(source))

    def test_each_kind_of_token(self) -> None:
        for source in ("a.b-c/d.e", "x.", "x./", "-1_0.5e+3", "+.5E2", "1e", "1ea", "1.x", "1..2", "٣", "²", "'a\\'b' \"c\"",
                       "'a", "'a\\", "'a\\\nb'", "!= ! !x == = <= < >= > & && | || ~ ( ) [ ] ,", "in and or not inx", "\u00a0\t\n"):
            with self.subTest(source=source):
                self.assertEqual(self.tokens(source), self.expected(source))


class WrittenOutTest(unittest.TestCase):
    """The query written out as one function (v[name], then v.get(name) for a run lacking a field) answers as its nodes' closures do."""

    def test_random_queries_on_random_values(self) -> None:
        import random

        from tinyxp.read.query import compile_tree

        rng = random.Random(8)
        fields = {"config.a": "any", "config.b": "any", "info.status": "any", "id": "any"}
        aliases = {"id": "info.run_id"}
        values = [None, True, False, 0, 1, 1.0, 2, 2.5, "x", "1", "", [1], [1, 2], {"k": 1}, float("nan")]
        literals = ["0", "1", "1.0", "2.5", "'x'", "'1'", "''", "true", "false", "null", "[1]"]

        def comparison() -> str:
            name = rng.choice(list(fields))
            if rng.random() < 0.4:
                options = [rng.choice(["0", "1", "2.5", "'x'", "'1'", "null", "true"]) for _ in range(rng.randint(1, 3))]
                return f"{name} {rng.choice(['in', 'not in'])} [{', '.join(options)}]"
            return f"{name} {rng.choice(['==', '!='])} {rng.choice(literals)}"

        def query(depth: int) -> str:
            if depth == 0 or rng.random() < 0.3:
                return comparison()
            form = rng.random()
            if form < 0.2:
                return f"~({query(depth - 1)})"
            return f"({query(depth - 1)} {rng.choice(['&', '|'])} {query(depth - 1)})"

        by_columns_made = 0
        for _ in range(400):
            text = query(3)
            predicate, by_columns = compile_query_parts(text, fields, aliases)
            reference = compile_tree(parse(text), text, fields, aliases)
            function = by_columns[1]() if by_columns else None
            by_columns_made += function is not None
            for _ in range(10):
                run = {key: rng.choice(values) for key in ("config.a", "config.b", "info.status", "info.run_id") if rng.random() < 0.8}
                with self.subTest(query=text, run=run):
                    self.assertEqual(predicate(run, None), reference(run, None))
                    if function is not None:  # the values as columns give: None for a missing one
                        self.assertEqual(function(*(run.get(key) for key in by_columns[0])), reference(run, None))
        self.assertGreater(by_columns_made, 50)

    def test_queries_of_fields_only_are_written_as_functions_of_their_values(self) -> None:
        keys, make = compile_query_parts("id in [2, 3] & status == 'FAILED' | id == 7", {**FIELDS, "id": "int", "status": "str"},
                                         {"id": "info.run_id", "status": "info.status"})[1]
        self.assertEqual(keys, ["info.run_id", "info.status"])
        self.assertEqual([make()(*values) for values in [(2, "FAILED"), (2, "COMPLETE"), (7, None), (None, None), (True, "FAILED")]],
                         [True, False, True, False, False])
        for query in ("last(train.loss) < 1", "'good' in tags", "config.lr < 0.1", "config.flag == true", "~" * 41 + "(config.seed == 1)"):
            with self.subTest(query=query):
                self.assertIsNone(compile_query_parts(query, FIELDS)[1])


class OperandsTest(unittest.TestCase):
    def test_the_fields_and_summaries_a_query_compares(self) -> None:
        from tinyxp.read.query_tree import operands

        found = operands(parse("~(config.seed == 1) & (last(train.loss) < 2 | 'a' in tags)"))
        self.assertEqual([operand.text for operand in found], ["config.seed", "last(train.loss)", "tags"])
