"""README.md documents every configuration key and every command-line tool."""
import re
import subprocess
import sys
import typing

import pytest
from pydantic import BaseModel

from appliance.config import Config
from tests.support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def keys(model: type[BaseModel], prefix: str = ""):
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        yield prefix + name
        inner = field.annotation
        for candidate in (inner, *typing.get_args(inner)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                yield from keys(candidate, prefix + name + ".")


def documented(key: str) -> bool:
    """A section has a `### `[table]`` heading; a key is a `| `leaf` |` row under its table's."""
    *parents, leaf = key.split(".")
    table = ".".join(parents) if parents else leaf
    section = re.search(rf"^### `\[\[?{re.escape(table)}\]?\]`.*?(?=^##)", README, re.M | re.S)
    if not parents:
        return section is not None
    return bool(section and re.search(rf"^\| `{re.escape(leaf)}` \|", section.group(0), re.M))


@pytest.mark.parametrize("key", sorted(set(keys(Config))))
def test_every_config_key_is_in_the_readme(key):
    if key.startswith("lockboard.board.sizes."):
        assert f"{key.rsplit('.', 1)[1]} = [" in README
        return
    assert documented(key), f"README.md's configuration reference does not document {key}"


def test_the_two_commands_come_first():
    first_block = README.split("```", 2)[1]
    assert "make run" in first_block and "make test" in first_block


def cli_modules():
    for main in sorted(ROOT.glob("*/**/__main__.py")):
        rel = main.parent.relative_to(ROOT)
        if rel.parts[0] in ("tests", "bench", ".venv"):
            continue
        yield ".".join(rel.parts)
    for path in sorted(ROOT.glob("drivers/**/*.py")):
        if path.name != "__main__.py" and 'if __name__ == "__main__"' in path.read_text(encoding="utf-8"):
            yield ".".join(path.relative_to(ROOT).with_suffix("").parts)


@pytest.mark.parametrize("module", sorted(set(cli_modules())))
def test_every_cli_and_its_commands_are_in_the_readme(module):
    assert f"python -m {module}" in README, f"README.md does not show `python -m {module}`"
    run = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stderr
    positional = run.stdout.split("positional arguments:", 1)[1] if "positional arguments:" in run.stdout else ""
    choices = re.search(r"^\s*\{([a-z0-9_,-]+)\}", positional, re.M)  # the subcommands, not option choices
    for command in (choices.group(1).split(",") if choices else []):
        assert re.search(rf"python -m {re.escape(module)}\b[^\n]*\b{re.escape(command)}\b", README), \
            f"README.md does not show `python -m {module} … {command}`"
