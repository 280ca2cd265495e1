"""tools/certify.py's judgement of the tools' output: only the named exceptions pass (the
checks themselves run in tests/run, on the built tarball)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPEC = importlib.util.spec_from_file_location("certify", REPO / "tools/certify.py")
certify = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(certify)


class FakeWork:
    installed = REPO


def test_the_importer_quirk_passes_only_for_a_yaml_doc_sidecar():
    out = "\n".join([
        "Importing with galaxy-importer 0.4.44",
        "WARNING: plugins/filter/split_pool.yml:1:5: E999 SyntaxError: invalid syntax",
        "WARNING: plugins/filter/pools.py:3:1: F401 'os' imported but unused",
        "WARNING: plugins/filter/awx_survey_spec.yml:2:1: E501 line too long",
        "ERROR: something else",
        "Importer processing completed successfully",
    ])
    assert certify.importer_problems(out, FakeWork()) == [
        "WARNING: plugins/filter/pools.py:3:1: F401 'os' imported but unused",
        "WARNING: plugins/filter/awx_survey_spec.yml:2:1: E501 line too long",
        "ERROR: something else",
    ]


def test_an_ansible_lint_warning_of_the_importer_is_a_problem():
    out = "WARNING: roles/base/tasks/main.yml:3: name[missing]: All tasks should be named."
    assert certify.importer_problems(out, FakeWork()) == [out]


@pytest.mark.parametrize("line,allowed", [
    ("/x/rst/collections/environment_variables.rst:11: WARNING: undefined label: 'ansible_configuration_settings'"
     " [ref.ref]", True),
    ("/x/rst/a_module.rst:313: WARNING: undefined label: 'common_return_values' [ref.ref]", True),
    ("/x/rst/a_module.rst:3: WARNING: undefined label: 'ansible_collections.hastack.dns_dhcp.nope' [ref.ref]", False),
    ("/x/rst/index.rst:1: WARNING: Title underline too short.", False),
    ("/x/rst/a.rst:1: ERROR: Unknown directive type", False),
])
def test_the_docsite_allows_only_references_into_the_ansible_docs(line, allowed):
    warnings, other = certify.docsite_problems(f"build\n{line}\ndone")
    assert warnings == [line]
    assert other == ([] if allowed else [line])


def test_the_v1_message_is_the_importers():
    assert "1.0.0 or greater" in certify.IMPORTER_V1
