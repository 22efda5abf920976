from dataclasses import dataclass
from pathlib import Path

import pytest

from nubes.core.config import ConfigError, ServiceConfig, load


@dataclass
class DemoConfig(ServiceConfig):
    port: int = 1234
    ratio: float = 1.5
    flag: bool = False
    names: list[str] = None  # type: ignore[assignment]


def test_defaults_need_no_file():
    conf = load(None, {"demo": DemoConfig}, env={})
    assert conf.service("demo").port == 1234
    assert conf.core.bus_url == "memory://"
    assert conf.database_url("demo").startswith("sqlite+aiosqlite:///")


def test_file_then_environment(tmp_path: Path):
    f = tmp_path / "nubes.toml"
    f.write_text('[core]\nregion = "R2"\n[demo]\nport = 9\nflag = true\n')
    conf = load(f, {"demo": DemoConfig}, env={"NUBES_DEMO__PORT": "10", "NUBES_DEMO__NAMES": "a, b",
                                              "NUBES_CORE__STATE_DIR": str(tmp_path)})
    assert conf.core.region == "R2"
    assert conf.service("demo").port == 10
    assert conf.service("demo").flag is True
    assert conf.service("demo").names == ["a", "b"]
    assert conf.core.state_dir == tmp_path


@pytest.mark.parametrize("env,needle", [
    ({"NUBES_DEMO__PORT": "x"}, "expected an integer"),
    ({"NUBES_DEMO__FLAG": "maybe"}, "expected a boolean"),
    ({"NUBES_DEMO__NOPE": "1"}, "unknown option 'nope'"),
    ({"NUBES_OTHER__PORT": "1"}, "unknown section [other]"),
])
def test_errors_name_the_problem(env, needle):
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        load(None, {"demo": DemoConfig}, env=env)


def test_bad_toml(tmp_path: Path):
    f = tmp_path / "nubes.toml"
    f.write_text("[core\n")
    with pytest.raises(ConfigError, match="nubes.toml"):
        load(f, {}, env={})
