"""config.yaml validation: unknown keys and wrong types refused with file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamcli.config import Config, load_config
from dreamcli.errors import InputError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(text)
    return p


def test_missing_or_empty_config_means_defaults(tmp_path: Path) -> None:
    assert load_config(tmp_path / "none.yaml") == Config()
    assert load_config(write(tmp_path, "# only a comment\n")) == Config()


def test_valid_config(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "models:\n  agent: claude-opus-5-5\nlimits:\n  max_turns: 7\n"
                                      "redaction:\n  patterns: ['ACME-[0-9]{4}']\n"))
    assert cfg.models.agent == "claude-opus-5-5"
    assert cfg.limits.max_turns == 7
    assert cfg.limits.bash_timeout_s == 120  # default kept


def test_typo_is_refused_with_line_and_field(tmp_path: Path) -> None:
    p = write(tmp_path, "models:\n  agent: x\nlimits:\n  max_turn: 5\n")
    with pytest.raises(InputError) as info:
        load_config(p)
    msg = str(info.value)
    assert f"{p}:4" in msg and "limits.max_turn" in msg and "unknown key" in msg
    assert info.value.exit_code == 2


def test_wrong_type_is_refused_with_line(tmp_path: Path) -> None:
    p = write(tmp_path, "limits:\n  concurrency: 2\n  max_turns: lots\n")
    with pytest.raises(InputError) as info:
        load_config(p)
    assert f"{p}:3" in str(info.value) and "limits.max_turns" in str(info.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    p = write(tmp_path, "models:\n  agent: [unclosed\n")
    with pytest.raises(InputError, match=r"config.yaml:\d+: invalid YAML"):
        load_config(p)


def test_invalid_redaction_regex_is_refused(tmp_path: Path) -> None:
    p = write(tmp_path, "redaction:\n  patterns:\n    - 'ok'\n    - '([unclosed'\n")
    with pytest.raises(InputError) as info:
        load_config(p)
    assert f"{p}:4" in str(info.value) and "redaction.patterns.1" in str(info.value)


def test_reading_dev_null_as_a_yaml_file_leaves_no_descriptor_open() -> None:
    """DREAMCLI_CONFIG=/dev/null (as this suite sets it) read as "no file": each load used to leak the
    descriptor, and a long test worker ran past 1,024 of them."""
    import os

    from dreamcli.yamlio import read_text_file

    before = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        assert read_text_file(os.devnull) == ""
    assert len(os.listdir("/proc/self/fd")) <= before
