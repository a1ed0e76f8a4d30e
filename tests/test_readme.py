import re
from pathlib import Path

from sfa.config import BOOTSTRAP_VARIABLES, SETTINGS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_opens_with_exactly_the_two_commands():
    assert README.startswith("```\npython3 run.py\npython3 run.py test\n```\n")


def test_readme_settings_table_lists_every_setting_with_its_default():
    table = dict(re.findall(r"^\| `([A-Z_]+)` \| ([^|]+) \|", README, flags=re.MULTILINE))

    assert set(table) == {s.env for s in SETTINGS} | set(BOOTSTRAP_VARIABLES)
    for setting in SETTINGS:
        assert table[setting.env].strip() == (f"`{setting.default}`" if setting.default else "unset")
