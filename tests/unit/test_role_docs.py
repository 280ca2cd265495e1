"""Role READMEs generated from argument specs (tools/role_docs.py)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tools import role_docs

REPO = Path(__file__).resolve().parents[2]

SPEC = """\
argument_specs:
  main:
    short_description: A tiny role.
    description:
      - First paragraph.
      - Second paragraph with a | pipe.
    options:
      tiny_mode:
        type: str
        default: fast
        choices: [fast, slow]
        description: How fast.
      tiny_backends:
        type: list
        elements: str
        required: true
        description: The backends.
      tiny_peers:
        type: list
        elements: str
        description: Peers, from the inventory by default.
      tiny_secret:
        type: str
        no_log: true
        description: A password.
      tiny_opts:
        type: dict
        default: {}
        description: Extra options.
        options:
          depth:
            type: int
            description: How deep.
"""
DEFAULTS = """\
---
tiny_mode: fast
tiny_peers: "{{ groups['tiny'] | default([]) }}"
"""


@pytest.fixture
def roles(tmp_path):
    meta = tmp_path / "tiny" / "meta"
    meta.mkdir(parents=True)
    (meta / "argument_specs.yml").write_text(SPEC)
    (tmp_path / "tiny" / "defaults").mkdir()
    (tmp_path / "tiny" / "defaults" / "main.yml").write_text(DEFAULTS)
    (tmp_path / "nospec" / "tasks").mkdir(parents=True)
    return tmp_path


def test_every_role_readme_is_up_to_date():
    stale = role_docs.run(REPO / "roles", check=True, err=io.StringIO())
    assert stale == [], f"stale READMEs (run python tools/role_docs.py): {[str(p) for p in stale]}"


def test_the_renderer_on_a_tiny_spec(roles):
    text = role_docs.render_role(roles / "tiny")
    lines = text.splitlines()
    assert lines[0] == "# hastack.dns_dhcp.tiny"
    assert "A tiny role." in lines and "First paragraph." in lines
    assert "Second paragraph with a | pipe." in lines
    assert "| `tiny_mode` | str | `fast` | no | `fast`, `slow` | How fast. |" in lines
    assert "| `tiny_backends` | list of str |  | yes |  | The backends. |" in lines
    # no default in the spec: the raw value from defaults/main.yml, pipes escaped for the table
    assert "| `tiny_peers` | list of str | `{{ groups['tiny'] \\| default([]) }}` | no |  |" \
        " Peers, from the inventory by default. |" in lines
    assert "| `tiny_secret` | str |  | no |  | A password. Secret: kept out of logs (no_log). |" in lines
    assert "| `tiny_opts.depth` | int |  | no |  | How deep. |" in lines
    assert "        name: hastack.dns_dhcp.tiny" in lines
    assert "        tiny_backends: ...  # required" in lines


def test_a_hand_written_example_replaces_the_generic_one(roles):
    (roles / "tiny" / "meta" / "example.yml").write_text("---\n- name: Mine\n  hosts: all\n")
    text = role_docs.render_role(roles / "tiny")
    assert "```yaml\n- name: Mine\n  hosts: all\n```" in text
    assert "ansible.builtin.include_role" not in text


def test_check_names_stale_and_missing_readmes_and_writes_nothing(roles, capsys):
    assert role_docs.main(["--check", "--roles-dir", str(roles)]) == 1
    assert "stale: " + str(roles / "tiny" / "README.md") in capsys.readouterr().out
    assert not (roles / "tiny" / "README.md").exists()


def test_write_then_check_passes_and_an_edit_makes_it_stale(roles, capsys):
    assert role_docs.main(["--roles-dir", str(roles)]) == 0
    assert role_docs.main(["--check", "--roles-dir", str(roles)]) == 0
    spec = roles / "tiny" / "meta" / "argument_specs.yml"
    spec.write_text(spec.read_text().replace("How fast.", "How fast it goes."))
    assert role_docs.main(["--check", "--roles-dir", str(roles)]) == 1


def test_a_role_without_specs_is_skipped_with_a_note(roles):
    err = io.StringIO()
    role_docs.run(roles, err=err)
    assert "nospec: no meta/argument_specs.yml" in err.getvalue()
    assert not (roles / "nospec" / "README.md").exists()
