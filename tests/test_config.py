"""The configuration: the spec's defaults, a lossless TOML round trip, and every bad file an
exit-2 error that names the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from cart19.config import Config, ConfigError, config_from_mapping, default_toml, load_config, to_toml
from conftest import run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "cart19.toml"


def test_defaults_are_the_numbers_of_the_spec():
    c = Config()
    assert c.os.window_days == 730
    assert c.efs.window_days == 365
    assert c.dor.window_days == 365
    assert c.teae.window_days == 730
    assert c.dlt.window_days == 28
    assert c.dlt.evaluable_through_day == 28
    assert c.stopping_rule.dlt_rate_threshold == 0.30
    assert c.stopping_rule.posterior_probability == 0.8
    assert (c.stopping_rule.prior_alpha, c.stopping_rule.prior_beta) == (1.0, 1.0)  # Beta(1, 1)
    assert c.response_sets.remission == ("CR", "CRh", "CRi")
    assert c.response_sets.response == ("CR", "CRh", "CRi", "MLFS", "PR")
    assert c.response_sets.dor_response == ("CR", "CRh", "CRi", "PR")
    assert c.efs.response_set == "response"
    assert c.dor.response_set == "dor_response"
    assert c.dor.event_death_causes == ("disease",)
    assert [p.paramcd for p in c.efs.parameters] == ["EFS", "EFSS1", "EFSS2", "EFSS3"]
    assert c.km.landmarks_months == (6.0, 12.0, 24.0)
    assert c.km.days_per_month == 30.4375


def test_cart19_config_output_loads_back_to_an_equal_config(tmp_path):
    result = run_cli("config")
    assert result.exit_code == 0
    assert result.stdout == default_toml()
    path = tmp_path / "cart19.toml"
    path.write_text(result.stdout, encoding="utf-8")
    assert load_config(path) == Config()
    out = tmp_path / "written.toml"
    assert run_cli("config", "-o", out).exit_code == 0
    assert load_config(out) == Config()


def test_a_partial_file_keeps_the_other_defaults_and_round_trips(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[efs]\nwindow_days = 180\n[stopping_rule]\nprior_alpha = 2\n", encoding="utf-8")
    config = load_config(path)
    assert config.efs.window_days == 180 and config.stopping_rule.prior_alpha == 2.0
    assert config.os == Config().os
    again = tmp_path / "again.toml"
    again.write_text(to_toml(config), encoding="utf-8")
    assert load_config(again) == config


def _config_error(tmp_path: Path, text: str) -> tuple[list[str], str]:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    result = run_cli("config", "--config", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    return caught.value.problems, result.stderr


def test_an_unknown_key_is_an_error_naming_it(tmp_path):
    problems, stderr = _config_error(tmp_path, "[efs]\nbogus = 1\n")
    assert problems == ["efs.bogus: unknown key"]
    assert "efs.bogus: unknown key" in stderr


def test_an_unknown_section_is_an_error_naming_it(tmp_path):
    problems, _ = _config_error(tmp_path, "[efsx]\nwindow_days = 1\n")
    assert problems == ["efsx: unknown key"]


def test_a_wrong_type_is_an_error_naming_the_key(tmp_path):
    problems, stderr = _config_error(tmp_path, '[[dlt.rules]]\nname = "r"\nmin_grade = "high"\n')
    assert len(problems) == 1 and problems[0].startswith("dlt.rules.0.min_grade: ")
    assert "dlt.rules.0.min_grade" in stderr
    problems, _ = _config_error(tmp_path, '[efs]\nwindow_days = "a year"\n')
    assert problems[0].startswith("efs.window_days: ")


def test_every_problem_of_a_file_is_listed(tmp_path):
    problems, _ = _config_error(tmp_path, '[efs]\nbogus = 1\nwindow_days = "x"\n[os]\nwindow_days = 0\n')
    assert sorted(p.split(":")[0] for p in problems) == ["efs.bogus", "efs.window_days", "os.window_days"]


@pytest.mark.parametrize(
    "text", ['[efs]\nwindow_days = "365"\n', "[efs]\nwindow_days = true\n",
             '[efs]\ntherapy_before_response_is_failure = "yes"\n']  # fmt: skip
)
def test_a_value_of_the_wrong_toml_type_is_not_coerced(tmp_path, text):
    _config_error(tmp_path, text)


def test_a_rule_naming_an_unknown_term_group_is_rejected(tmp_path):
    problems, stderr = _config_error(tmp_path, '[[dlt.rules]]\nname = "r"\nterm_groups = ["no_such_group"]\n')
    assert "no_such_group" in problems[0] and "dlt" in problems[0]
    problems, _ = _config_error(tmp_path, '[[dlt.rules]]\nname = "r"\nexclude_term_groups = ["nope"]\n')
    assert "nope" in problems[0]


@pytest.mark.parametrize(
    ("mapping", "key"),
    [
        ({"response_sets": {"remission": ["CR", "XX"]}}, "response_sets.remission"),
        ({"response_sets": {"remission": []}}, "response_sets.remission"),
        ({"efs": {"response_set": "cure"}}, "efs.response_set"),
        ({"dor": {"event_death_causes": ["old age"]}}, "dor.event_death_causes"),
        ({"stopping_rule": {"dlt_rate_threshold": 1.5}}, "stopping_rule.dlt_rate_threshold"),
        ({"dlt": {"rules": [{"name": "r", "min_grade": 4, "max_grade": 3}]}}, "dlt.rules.0"),
        ({"dlt": {"rules": [{"name": "r"}, {"name": "r"}]}}, "dlt"),
    ],
)
def test_invalid_values_are_errors_naming_the_key(mapping, key):
    with pytest.raises(ConfigError) as caught:
        config_from_mapping(mapping)
    assert any(p.startswith(f"{key}: ") for p in caught.value.problems), caught.value.problems


def test_not_toml_and_missing_file_are_exit_2(tmp_path):
    problems, _ = _config_error(tmp_path, "x = [")
    assert problems[0].startswith("not valid TOML")
    result = run_cli("config", "--config", tmp_path / "missing.toml")
    assert result.exit_code == 2 and "cannot read the file" in result.stderr


@pytest.mark.skipif(not EXAMPLE.exists(), reason="examples/cart19.toml not written yet")
def test_the_example_configuration_loads_and_differs_from_the_defaults(tmp_path):
    config = load_config(EXAMPLE)
    assert config != Config()
    result = run_cli("config", "--config", EXAMPLE)
    assert result.exit_code == 0
    path = tmp_path / "round.toml"
    path.write_text(result.stdout, encoding="utf-8")
    assert load_config(path) == config
