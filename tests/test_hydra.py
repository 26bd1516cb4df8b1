"""The differential test against Hydra: every case under tests/data/hydra/ composed by tinyxp and by Hydra 1.3.

Each case is a config folder (conf/) and a command line (case.yaml: config_name,
overrides, env). expected.yaml holds what Hydra composed (the config, resolved, and
the group choices of hydra.runtime.choices, keys in order), or, for a case both must refuse, the
error tinyxp prints. Without hydra-core the stored results are checked; with it,
Hydra composes every case again and must agree. After editing a case, regenerate
with a Python that has hydra-core 1.3:

    python -m tests.test_hydra --regenerate
"""
from __future__ import annotations

import os
import sys
import unittest
import warnings
from unittest import mock

from tinyxp import yaml
from tinyxp.config.compose import compose_run
from tinyxp.config.overrides import parse_override
from tinyxp.errors import TinyxpError

CASES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "hydra")

try:
    import hydra  # noqa: F401
    HAVE_HYDRA = True
except ImportError:
    HAVE_HYDRA = False


def case_names() -> list[str]:
    return sorted(n for n in os.listdir(CASES) if os.path.isdir(os.path.join(CASES, n)))


def read_case(name: str) -> dict:
    with open(os.path.join(CASES, name, "case.yaml"), encoding="utf-8") as f:
        case = yaml.load(f.read())
    case.setdefault("env", {})
    case["conf"] = os.path.join(CASES, name, "conf")
    return case


def compose_with_tinyxp(case: dict) -> dict:
    with mock.patch.dict(os.environ, case["env"]):
        config, choices = compose_run(case["conf"], [parse_override(t) for t in case["overrides"]],
                                      config_name=case["config_name"])
    return {"config": config.to_dict(), "choices": choices}


def compose_with_hydra(case: dict) -> dict:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf, open_dict

    with mock.patch.dict(os.environ, case["env"]), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Hydra's warning about a defaults list without _self_
        with initialize_config_dir(config_dir=case["conf"], version_base="1.3"):
            cfg = compose(case["config_name"], overrides=list(case["overrides"]), return_hydra_config=True)
            choices = {k: v for k, v in cfg.hydra.runtime.choices.items() if k != "hydra" and not k.startswith("hydra/")}
            with open_dict(cfg):
                del cfg["hydra"]
            config = OmegaConf.to_container(cfg, resolve=True)
    return {"config": config, "choices": choices}


def in_order(tree: object) -> object:
    """tree with every mapping as a list of pairs: the keys' order counts too (config.yaml shows it)."""
    if isinstance(tree, dict):
        return [(key, in_order(value)) for key, value in tree.items()]
    if isinstance(tree, list):
        return [in_order(value) for value in tree]
    return tree


def tinyxp_error(case: dict) -> str | None:
    try:
        compose_with_tinyxp(case)
    except TinyxpError as err:
        return str(err).replace(case["conf"], "{conf}")
    return None


class HydraCorpusTest(unittest.TestCase):
    def test_corpus_size(self) -> None:
        self.assertGreaterEqual(len(case_names()), 30)

    def test_stored_results(self) -> None:
        for name in case_names():
            case = read_case(name)
            with open(os.path.join(CASES, name, "expected.yaml"), encoding="utf-8") as f:
                expected = yaml.load(f.read())
            with self.subTest(case=name):
                if "error" in expected:
                    self.assertEqual(tinyxp_error(case), expected["error"].rstrip("\n"))
                else:
                    self.assertEqual(in_order(compose_with_tinyxp(case)), in_order(expected))

    @unittest.skipUnless(HAVE_HYDRA, "hydra-core is not installed: only the stored results are checked")
    def test_against_hydra(self) -> None:
        for name in case_names():
            case = read_case(name)
            with self.subTest(case=name):
                try:
                    theirs = compose_with_hydra(case)
                except Exception as err:  # Hydra raises several types: refusing is what matters
                    refused = tinyxp_error(case)
                    self.assertIsNotNone(refused, f"Hydra refused ({type(err).__name__}: {err}), tinyxp did not")
                    continue
                self.assertEqual(in_order(compose_with_tinyxp(case)), in_order(theirs))


def regenerate() -> None:
    """Write every case's expected.yaml from Hydra (and tinyxp's message where Hydra refuses)."""
    for name in case_names():
        case = read_case(name)
        try:
            result = compose_with_hydra(case)
        except Exception as err:
            message = tinyxp_error(case)
            print(f"{name}: Hydra refused: {type(err).__name__}: {str(err).splitlines()[0]}\n  tinyxp: {message}")
            result = {"error": message}
        with open(os.path.join(CASES, name, "expected.yaml"), "w", encoding="utf-8") as f:
            f.write(yaml.dump(result))


if __name__ == "__main__":
    if sys.argv[1:] == ["--regenerate"]:
        regenerate()
    else:
        unittest.main()
