"""``genai-course``: the course's command line.

Each group of commands lives beside the code it drives and registers itself here, so this
file stays a table of contents. Heavy imports (torch, nbclient) happen inside the commands,
which keeps ``genai-course --help`` fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import CommandError  # noqa: F401  (re-exported: commands raise genai_course.cli.CommandError)

# Modules that define ``register(subparsers)``; each adds its sub-commands.
COMMAND_MODULES = [
    "genai_course.course.commands",
    "genai_course.gpt.commands",
    "genai_course.recipes",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genai-course",
        description="Generative AI from Scratch: tools for students, instructors and authors.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return int(args.run(args) or 0)
    except (CommandError, ValueError, OSError) as err:
        print(f"genai-course {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
