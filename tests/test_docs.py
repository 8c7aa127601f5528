"""Docs as a contract: every CLI option and every result field is documented in README.md."""

from __future__ import annotations

from pathlib import Path

from acuevidence.cli import build_parser
from acuevidence.results import SUMMARY_FIELDS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def _walk(parser, path):
    """Yield (command path, parser) for every (nested) subcommand."""
    for action in parser._actions:
        if action.dest in ("command", "evidence_command") and hasattr(action, "choices"):
            for name, sub in action.choices.items():
                yield f"{path} {name}", sub
                yield from _walk(sub, f"{path} {name}")


def test_every_cli_option_is_documented():
    commands = list(_walk(build_parser(), "acuevidence"))
    # the walk must reach the subcommands, nested ones included (else nothing is checked)
    assert {"acuevidence report", "acuevidence analyze", "acuevidence check",
            "acuevidence evidence build", "acuevidence evidence import"} <= {c for c, _ in commands}
    for cmd, p in commands:
        assert cmd in README, f"'{cmd}' is not documented in README.md"
        for action in p._actions:
            for opt in action.option_strings:
                if opt.startswith("--") and opt not in ("--help", "--data"):
                    assert opt in README, f"{cmd} {opt} is not documented in README.md"


def test_every_result_field_is_documented():
    for field in SUMMARY_FIELDS:
        assert f"`{field}`" in README or f"{field}`" in README or f"`{field}," in README, field


def test_quickstart_has_two_commands():
    quick = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = [b for b in quick.split("```bash")[1:]]
    commands = [b.split("```", 1)[0].strip() for b in blocks]
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    assert commands[1] == "pip install -e '.[test]' && python -m pytest -q"
