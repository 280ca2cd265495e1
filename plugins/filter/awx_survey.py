# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter awx_survey_spec: an AWX survey spec from role argument specs."""

from __future__ import annotations

from ansible_collections.hastack.dns_dhcp.plugins.module_utils.awx_survey import SurveyError, survey_spec
from ansible_collections.hastack.dns_dhcp.plugins.plugin_utils.filters import raising_filter_errors


@raising_filter_errors(SurveyError)
def awx_survey_spec(argument_specs, options, name="", description="", entry_point="main"):
    """Ask the options (names) of the argument specs (one loaded argument_specs.yml or a list)."""
    return survey_spec(argument_specs, list(options), name=name, description=description, entry_point=entry_point)


class FilterModule:
    def filters(self):
        return {"awx_survey_spec": awx_survey_spec}
