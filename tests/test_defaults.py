"""Bad input to composition (defaults lists, packages, the primary config, interpolation), each with its exact message."""
from __future__ import annotations

import os
import unittest

from tinyxp.config.compose import compose, compose_run, describe, load_config
from tinyxp.config.overrides import parse_override
from tinyxp.errors import ConfigError, OverrideError

from .support import temp_dir, write_files

DB = {"db/mysql.yaml": "port: 3306\n", "db/postgresql.yaml": "port: 5432\n"}


class DefaultsErrorTest(unittest.TestCase):
    def setUp(self) -> None:
        self.folder = temp_dir(self)

    def error(self, files: dict, *tokens: str, config_name: str | None = None, kind: type = ConfigError) -> str:
        write_files(self.folder, files)
        with self.assertRaises(kind) as caught:
            compose(self.folder, [parse_override(t) for t in tokens], config_name=config_name)
        return str(caught.exception).replace(self.folder, "{dir}")

    def test_unknown_group_in_a_defaults_list(self) -> None:
        message = self.error({"config.yaml": "defaults:\n  - dbb: mysql\n", **DB})
        self.assertEqual(message, "{dir}/config.yaml:2:5: Unknown config group 'dbb'; did you mean 'db'? (groups: db)\n"
                                  "      - dbb: mysql\n        ^^^")

    def test_unknown_option_on_the_command_line(self) -> None:
        message = self.error({"config.yaml": "defaults:\n  - db: mysql\n", **DB}, "db=postgres", kind=OverrideError)
        self.assertEqual(message, "Unknown option 'postgres' for the config group 'db'; did you mean 'postgresql'? "
                                  "(options: mysql, postgresql)\n    db=postgres\n       ^^^^^^^^")

    def test_cycle_of_defaults_lists(self) -> None:
        message = self.error({"config.yaml": "defaults:\n  - a\n", "a.yaml": "defaults:\n  - b\n", "b.yaml": "defaults:\n  - a\n"})
        self.assertEqual(message, "{dir}/a.yaml: Cannot compose a cycle of defaults lists: {dir}/a.yaml -> {dir}/b.yaml -> {dir}/a.yaml")

    def test_two_self(self) -> None:
        message = self.error({"config.yaml": "defaults:\n  - _self_\n  - db: mysql\n  - _self_\n", **DB})
        self.assertEqual(message, "{dir}/config.yaml:4:5: Cannot list '_self_' twice in a defaults list\n"
                                  "      - _self_\n        ^^^^^^")

    def test_override_of_a_group_in_no_defaults_list(self) -> None:
        message = self.error({"config.yaml": "defaults:\n  - _self_\n  - override db: mysql\n", **DB})
        self.assertEqual(message, "{dir}/config.yaml:3:14: Cannot override the config group 'db': it is in no defaults "
                                  "list (groups listed: none)\n      - override db: mysql\n                 ^^")

    def test_conflicting_package_headers(self) -> None:
        message = self.error({"config.yaml": "defaults:\n  - db: mysql\n",
                              "db/mysql.yaml": "# @package a\n# @package b\nport: 1\n"})
        self.assertEqual(message, "{dir}/db/mysql.yaml:2:3: Conflicting package headers 'a' and 'b': keep one\n"
                                  "    # @package b\n      ^^^^^^^^^^")

    def test_package_header_without_a_package(self) -> None:
        message = self.error({"config.yaml": "defaults:\n  - db: mysql\n", "db/mysql.yaml": "# @package\nport: 1\n"})
        self.assertEqual(message, "{dir}/db/mysql.yaml:1:3: Expected '# @package PACKAGE' (one package: a dotted key "
                                  "or _global_)\n    # @package\n      ^^^^^^^^")

    def test_missing_primary_config(self) -> None:
        message = self.error({"config.yaml": "a: 1\n"}, config_name="mnist")
        self.assertEqual(message, "Cannot find the primary config 'mnist': no file '{dir}/mnist.yaml'")
        with self.assertRaises(ConfigError) as caught:
            load_config(os.path.join(self.folder, "nowhere"), config_name="mnist")
        self.assertEqual(str(caught.exception), f"Cannot find the config folder {os.path.join(self.folder, 'nowhere')!r}")

    def test_missing_config_entry(self) -> None:
        message = self.error({"config.yaml": "defaults:\n  - base\n"})
        self.assertEqual(message, "{dir}/config.yaml:2:5: Cannot find the config 'base' listed in the defaults list\n"
                                  "      - base\n        ^^^^")

    def test_two_options_for_one_group(self) -> None:
        message = self.error({"config.yaml": "defaults:\n  - db: mysql\n  - base\n", "base.yaml": "defaults:\n  - /db: postgresql\n", **DB})
        self.assertEqual(message, "{dir}/config.yaml:2:5: Cannot choose 'mysql' for the config group 'db': 'postgresql' "
                                  "is chosen already (to replace it, write 'override db: mysql')\n      - db: mysql\n        ^^")

    def test_add_a_group_listed_already(self) -> None:
        message = self.error({"config.yaml": "defaults:\n  - db: mysql\n", **DB}, "+db=mysql", kind=OverrideError)
        self.assertEqual(message, "Cannot add the config group 'db': it is in the defaults list already "
                                  "(choose an option with db=OPTION)\n    +db=mysql\n     ^^")

    def test_delete_with_an_option(self) -> None:
        message = self.error({"config.yaml": "defaults:\n  - db: mysql\n", **DB}, "~db=[1]", kind=OverrideError)
        self.assertEqual(message, "Invalid option [1] for the config group 'db': expected a file name\n    ~db=[1]\n     ^^")
        message = self.error({"config.yaml": "defaults:\n  - db: mysql\n", **DB}, "~db=postgresql", kind=OverrideError)
        self.assertEqual(message, "Cannot delete the config group 'db' with the option 'postgresql': its option is "
                                  "'mysql'\n    ~db=postgresql\n     ^^")

    def test_hydra_runtime_groups_and_resolvers(self) -> None:
        message = self.error({"config.yaml": "defaults:\n  - _self_\n  - hydra: default\n", "hydra/default.yaml": "run: {}\n"})
        self.assertEqual(message, "{dir}/config.yaml:3:5: Cannot use the config group 'hydra': tinyxp has no Hydra runtime "
                                  "config (its run directory, logging and launcher are xp settings: docs/configuration.md); "
                                  "remove this entry\n      - hydra: default\n        ^^^^^")
        message = self.error({"config.yaml": "defaults:\n  - override hydra/launcher: joblib\n"})
        self.assertEqual(message.splitlines()[0], "{dir}/config.yaml:2:14: Cannot use the config group 'hydra/launcher': "
                         "tinyxp has no Hydra runtime config (its run directory, logging and launcher are xp settings: "
                         "docs/configuration.md); remove this entry")
        message = self.error({"config.yaml": "hydra:\n  job: {chdir: true}\n"})
        self.assertEqual(message, "{dir}/config.yaml: Cannot use the key 'hydra': tinyxp has no Hydra runtime node; its "
                                  "run directory, logging and launcher are xp settings (tinyxp.yaml, docs/configuration.md)")
        message = self.error({"config.yaml": "out: ${hydra:runtime.output_dir}\n"})
        self.assertEqual(message.splitlines()[0], "{dir}/config.yaml:1:1: Unknown resolver 'hydra' in "
                         "'${hydra:runtime.output_dir}' at 'out' (tinyxp has no Hydra runtime node: a run's directory is "
                         "ctx.info.run_dir, set xp.log_dir for where runs go)")

    def test_bad_entries(self) -> None:
        self.assertEqual(self.error({"config.yaml": "defaults:\n  - _self_@here\n"}),
                         "{dir}/config.yaml: Invalid entry '_self_@here' in the defaults list: '_self_' takes no package")
        self.assertEqual(self.error({"config.yaml": "defaults:\n  - sometimes db: mysql\n"}),
                         "{dir}/config.yaml: Invalid entry 'sometimes db' in the defaults list: "
                         "expected [optional] [override] GROUP[@PACKAGE]")
        self.assertEqual(self.error({"config.yaml": "defaults:\n  - db: ${x}\n"}),
                         "{dir}/config.yaml: Invalid option '${x}' for 'db' in the defaults list: expected a file name")


class DefaultsFormsTest(unittest.TestCase):
    """Forms the Hydra corpus (test_hydra) does not reach."""

    def setUp(self) -> None:
        self.folder = temp_dir(self)

    def test_file_names_and_folders(self) -> None:
        write_files(self.folder, {"conf/config.yaml": "defaults:\n  - db: mysql\n", "conf/db/mysql.yaml": "# @author me\nport: 1\n",
                                  "conf/__pycache__/x.yaml": "", "conf/nested/deep/a.yaml": "", "more/other.yaml": "b: 2\n"})
        conf, more = os.path.join(self.folder, "conf"), os.path.join(self.folder, "more")
        self.assertEqual(compose(conf, [], config_name="config.yaml"), {"db": {"port": 1}})
        self.assertEqual(compose(conf, [], config_name="other", extra_dirs=[more]), {"b": 2})
        text = describe(conf, [], config_name="other", extra_dirs=[more])
        self.assertEqual(text, "# config groups: choose an option with GROUP=OPTION, add a group with +GROUP=OPTION "
                               "(* chosen)\n#   db: mysql\n#   nested/deep: a\n\n# the composed config\nb: 2\n")

    def test_describe_without_groups_or_a_config_that_composes(self) -> None:
        write_files(self.folder, {"config.yaml": "a: ${nope}\n"})
        self.assertEqual(describe(self.folder, []), "# config groups: none\n\n# Cannot compose the config:\n"
                         f"{self.folder}/config.yaml:1:1: Cannot resolve '${{nope}}' in 'a': no key 'nope'\n    a: ${{nope}}\n    ^\n")

    def test_package_with_group_keyword_and_dotted_override(self) -> None:
        write_files(self.folder, {"config.yaml": "defaults:\n  - db@_group_.copy: mysql\n  - db@x.y: mysql\n", **DB})
        config, choices = compose_run(self.folder, [parse_override("db@x.y=postgresql")])
        self.assertEqual(config, {"db": {"copy": {"port": 3306}}, "x": {"y": {"port": 5432}}})
        self.assertEqual(choices, {"db@x.y": "postgresql", "db@db.copy": "mysql"})


class InterpolationEdgesTest(unittest.TestCase):
    def setUp(self) -> None:
        self.folder = temp_dir(self)

    def compose_text(self, name: str, text: str, *tokens: str):
        write_files(self.folder, {name: text})
        return compose(self.folder, [parse_override(t) for t in tokens])

    def error(self, name: str, text: str, *tokens: str) -> str:
        with self.assertRaises(ConfigError) as caught:
            self.compose_text(name, text, *tokens)
        return str(caught.exception).replace(self.folder, "{dir}")

    def test_json_file(self) -> None:
        self.assertEqual(self.error("config.json", '{"a": {"b": "${nope}"}}'),
                         "{dir}/config.json: Cannot resolve '${nope}' in 'a.b': no key 'nope'")

    def test_decode_and_select_defaults(self) -> None:
        self.assertEqual(self.compose_text("config.yaml", "a: \"${oc.select:zz,'[1'}\"\nb: ${oc.decode:''}\n"), {"a": "[1", "b": None})
        self.assertEqual(self.error("config.yaml", "a: \"${oc.decode:'[1'}\"\n"),
                         "{dir}/config.yaml:1:1: Cannot decode \"'[1'\" in \"${oc.decode:'[1'}\" at 'a': "
                         "Unclosed flow sequence: expected a closing ']'\n    a: \"${oc.decode:'[1'}\"\n    ^")

    def test_where_a_value_comes_from(self) -> None:
        self.assertEqual(self.error("config.yaml", "a: 1\n", "+c=${nope}"), "Cannot resolve '${nope}' in 'c': no key 'nope'")
        self.assertEqual(self.error("config.yaml", "a: {b: '${nope}'}\n"),
                         "{dir}/config.yaml:1:1: Cannot resolve '${nope}' in 'a.b': no key 'nope'\n    a: {b: '${nope}'}\n    ^")


if __name__ == "__main__":
    unittest.main()
