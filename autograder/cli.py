"""python -m autograder [--course DIR] COMMAND ...: the instructor's tool.

Each command lives in its own module with `add_arguments(parser)` and
`run(args, config) -> exit code`; modules are imported only when their command
runs (or its --help is asked for), so the tool starts fast.
"""
import argparse
import importlib
import os
import sys

from autograder.config import load_config

# command -> (module, one-line help)
COMMANDS = {
    "release": ("autograder.release", "regenerate exercises/ from solutions/ (and release to the exchange)"),
    "roster": ("autograder.roster", "import students from a CSV file"),
    "collect": ("autograder.collect", "import submissions from a folder, nbgrader's exchange or an LMS zip"),
    "grade": ("autograder.grading", "autograde the collected submissions of an assignment in parallel"),
    "feedback": ("autograder.feedback", "write an HTML feedback page per student and assignment"),
    "export": ("autograder.export", "write grade CSVs for an LMS gradebook import"),
    "report": ("autograder.report", "plot score distributions, hard questions and frequent mistakes"),
    "demo": ("autograder.demo", "build, grade and report a synthetic class"),
}

DEFAULT_COURSE = os.environ.get("AUTOGRADER_COURSE", "course")


def build_parser(selected=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", default=DEFAULT_COURSE,
                        help="the course folder (nbgrader layout; default: %(default)s, "
                             "or $AUTOGRADER_COURSE)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command = commands.add_parser(name, help=help_text, description=help_text)
        if name == selected:
            module = importlib.import_module(module_name)
            if module.__doc__:
                command.description = module.__doc__.strip()
                command.formatter_class = argparse.RawDescriptionHelpFormatter
            module.add_arguments(command)
            command.set_defaults(run=module.run)
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    selected = next((word for word in argv if word in COMMANDS), None)
    args = build_parser(selected).parse_args(argv)
    return args.run(args, load_config(args.course))


if __name__ == "__main__":
    sys.exit(main())
