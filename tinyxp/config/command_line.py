"""The command line of a launched script: override tokens, +sweep, -m, --cfg, -cn/-cp/-cd, --help.

The override grammar itself is overrides.py; this module reads the arguments around it
(with argparse only when an option is given: it costs a few ms to import) and prints the
help, which shows that grammar.
"""
from __future__ import annotations

from ..errors import OverrideError, TinyxpError
from .overrides import PREFIXES, Override, _Record, parse_override

TYPE_CHECKING = False  # typing only for annotations: importing it costs every launch a few ms
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

SWEEP_TOKEN = "+sweep"
CONFIG_OPTIONS = ("config_name", "config_path", "config_dir")

GRAMMAR_HELP = """\
overrides:
  key=VALUE           set an existing key             optimizer.lr=0.01
  +key=VALUE          add a key that does not exist   +data.augment=true
  ++key=VALUE         add or set a key                ++seed=3
  ~key, ~key=VALUE    delete a key (if it is VALUE)   ~scheduler
  GROUP=OPTION        choose a config group option    model=vit  model/backbone=resnet  db@backup=pg
  +GROUP=OPTION       add a config group              +experiment=fast
  ~GROUP              drop a config group             ~logger
  xp.NAME=VALUE       a tinyxp setting                xp.log_dir=runs

  VALUE is YAML: 0.1, 1e-3, true, null, 'a string', [1, 2], {a: 1}

sweeps (every combination is run; the first swept key varies slowest):
  +sweep, -m          allow a sweep                   +sweep lr=1e-3,1e-4 seed=range(3)
  a,b,c               comma-separated values          model=resnet,vit
  range([a, ]b[, s])  numbers from a (0) below b      seed=range(1, 4)
                      by step s (1), ints or floats   lr=range(0.1, 0.4, 0.1)
  choice(a, b)        the listed values               opt=choice(sgd, adam)
  'a,b' or a\\,b       not a sweep: one string         msg='a,b'

random search (xp.trials samples drawn with xp.search_seed, each run with every grid setting):
  uniform(a, b)       a float from a to b             wd=uniform(0, 0.1)
  loguniform(a, b)    its logarithm uniform, a > 0    lr=loguniform(1e-5, 1e-1)
  randint(a, b)       an integer, a and b included    depth=randint(2, 8)
  choice(a, b)        one of the values               opt=choice(sgd, adam)
                      +sweep lr=loguniform(1e-5, 1e-1) seed=range(3) xp.trials=20
"""


class CommandLine(_Record):
    """What parse_command_line found: the overrides, the flags and the primary config's options.

    config_options holds those given of config_name (-cn), config_path (-cp), config_dir (-cd).
    """

    FIELDS = ("overrides", "multirun", "show_config", "config_options")
    overrides: list[Override]
    multirun: bool
    show_config: bool
    config_options: dict[str, str]

    def __init__(self, overrides: list[Override], multirun: bool, show_config: bool,
                 config_options: dict[str, str] | None = None) -> None:
        super().__init__(overrides, multirun, show_config, config_options or {})


def parse_command_line(args: Sequence[str], *, prog: str = "train.py",
                       config_help: Callable[[dict[str, str]], str] | None = None) -> CommandLine:
    """Parse a launched script's arguments: the override tokens, +sweep, -m, --cfg, -cn, -cp, -cd, --help.

    --help prints the usage, the override grammar and config_help(config_options) (the
    config groups and the composed config), then raises SystemExit(0). Raises
    OverrideError for a bad token or a key given twice.
    """
    args = list(args)
    config_options: dict[str, str] = {}
    if any(arg.startswith("-") for arg in args):
        parser = _build_parser(prog)
        namespace = parser.parse_intermixed_args(args)
        tokens, multirun, show_config = namespace.overrides, namespace.multirun, namespace.cfg
        config_options = {name: getattr(namespace, name) for name in CONFIG_OPTIONS if getattr(namespace, name) is not None}
        if namespace.help:  # after parsing, so that -cn and -cp count wherever they are
            _print_help(parser, config_help, config_options)
    else:  # argparse (a few ms to import) would hand every token back as it is
        tokens, multirun, show_config = args, False, False
    overrides: list[Override] = []
    seen: dict[str, Override] = {}
    for token in tokens:
        if token == SWEEP_TOKEN:
            multirun = True
            continue
        override = parse_override(token)
        if override.key in seen:
            raise OverrideError(
                f"Cannot override {override.key!r} twice (also in {seen[override.key].text!r})",
                source=token, pos=len(PREFIXES[override.kind]), length=len(override.key),
            )
        seen[override.key] = override
        overrides.append(override)
    return CommandLine(overrides, multirun, show_config, config_options)


def _print_help(parser: Any, config_help: Callable[[dict[str, str]], str] | None, config_options: dict[str, str]) -> None:
    parser.print_help()
    if config_help is not None:
        try:
            text = config_help(config_options)
        except TinyxpError as err:
            text = f"# Cannot compose the config:\n{err}"
        print(f"\n{text.rstrip()}")
    parser.exit()


def _build_parser(prog: str) -> Any:
    import argparse  # only for options: a few ms to import

    parser = argparse.ArgumentParser(
        prog=prog, add_help=False, epilog=GRAMMAR_HELP, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("overrides", nargs="*", metavar="OVERRIDE", help="key=VALUE, +key=VALUE, ++key=VALUE, ~key, +sweep")
    parser.add_argument("-h", "--help", action="store_true",
                        help="show this help, the override grammar, the config groups and the config, and exit")
    parser.add_argument("-m", "--multirun", action="store_true", help="run every combination of the swept values (same as +sweep)")
    parser.add_argument("--cfg", action="store_true", help="print the composed config and exit")
    parser.add_argument("-cn", "--config-name", dest="config_name", metavar="NAME",
                        help="the primary config: NAME.yaml in the config folder (default: config)")
    parser.add_argument("-cp", "--config-path", dest="config_path", metavar="PATH",
                        help="the config folder instead of the decorator's config_path (relative to the script)")
    parser.add_argument("-cd", "--config-dir", dest="config_dir", metavar="DIR",
                        help="one more config folder, searched after the config folder")
    return parser
