# -*- coding: utf-8 -*-
# Copyright: hastack.dns_dhcp contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX survey specs from role argument specs, so a survey cannot drift from the role it feeds.

Type mapping: str/path -> text (multiplechoice when the option has choices), int -> integer,
float -> float, bool -> multiplechoice yes/no, list with choices -> multiselect. A list
without choices or a dict has no faithful survey question (AWX answers are text) and is
refused, as is an option the spec does not have.

No question carries a default: AWX (24.x, _update_unified_job_kwargs) sends every question's
default that passes its own validation as an extra var, answered or not (an empty string
too), and extra vars beat the inventory, so a default would silently override the
inventory's value. A question without a default that is not answered sends nothing: the
inventory's value applies, else the role's default, which the description names.
"""

from __future__ import annotations

BOOL_CHOICES = ["yes", "no"]
SCALARS = {"str": "text", "path": "text", "int": "integer", "float": "float"}


class SurveyError(ValueError):
    """A survey question that cannot be derived from the argument spec."""


def entry_options(argument_specs, entry_point="main"):
    """The options of one entry point, from a loaded meta/argument_specs.yml (or a list of them)."""
    documents = argument_specs if isinstance(argument_specs, list) else [argument_specs]
    options = {}
    for document in documents:
        if not isinstance(document, dict):
            raise SurveyError(f"expected a loaded argument_specs.yml, got {document!r}")
        specs = document.get("argument_specs", document)
        if entry_point not in specs:
            raise SurveyError(f"no entry point {entry_point!r} in the argument specs (has {sorted(specs)})")
        for name, option in (specs[entry_point].get("options") or {}).items():
            if name in options and options[name] != option:
                raise SurveyError(f"{name}: the argument specs given define it twice, differently")
            options[name] = option or {}
    return options


def _text(description):
    if isinstance(description, list):
        description = " ".join(str(part) for part in description)
    return " ".join(str(description or "").split())


def default_text(option):
    """The role's default as the survey says it (the answer that would mean it), or None."""
    if option.get("default") is None:
        return None
    default = option["default"]
    if option.get("type") == "bool":
        return "yes" if default else "no"
    if isinstance(default, list):
        return ", ".join(str(item) for item in default) or "none"
    return str(default)


def survey_question(name, option):
    """One AWX survey question for the option `name` of an argument spec (without a default)."""
    kind = option.get("type", "str")
    choices = option.get("choices")
    description = _text(option.get("description"))
    if not option.get("required"):
        default = default_text(option)
        fallback = f"the default ({default})." if default is not None else "the derived one."
        description += f" Unanswered, nothing is sent: the inventory's value applies, else {fallback}"
    question = {
        "question_name": name,
        "question_description": description.strip(),
        "variable": name,
        "required": bool(option.get("required", False)),
    }
    if kind == "bool":
        question["type"] = "multiplechoice"
        question["choices"] = list(BOOL_CHOICES)
    elif kind == "list" and choices:
        question["type"] = "multiselect"
        question["choices"] = [str(choice) for choice in choices]
    elif kind in SCALARS:
        question["type"] = "multiplechoice" if choices else SCALARS[kind]
        if choices:
            question["choices"] = [str(choice) for choice in choices]
    else:
        raise SurveyError(f"{name}: a {kind}{' without choices' if kind == 'list' else ''} "
                          "cannot be a survey question (AWX answers are text); keep it in the inventory")
    if option.get("no_log"):
        question["type"] = "password"
        question.pop("choices", None)
    return question


def survey_spec(argument_specs, names, name="", description="", entry_point="main"):
    """An AWX survey spec asking for the options `names` of the argument specs."""
    options = entry_options(argument_specs, entry_point)
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise SurveyError(f"the options to ask must be a list of names, got {names!r}")
    questions = []
    for option_name in names:
        if option_name not in options:
            raise SurveyError(f"{option_name}: not an option of entry point {entry_point!r} "
                              f"(options: {', '.join(sorted(options))})")
        questions.append(survey_question(option_name, options[option_name]))
    return {"name": name, "description": description, "spec": questions}
