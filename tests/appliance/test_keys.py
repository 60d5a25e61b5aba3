"""The appliance's signing key and its trusted keys."""
from __future__ import annotations

import base64
import json
import logging
import os
import stat
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization

from appliance.errors import KeyFileError
from appliance.keys import KEY_FILE, TRUSTED_KEYS_FILE, DeviceKey, KeyVerdict, TrustedKeys, encode_public_key
from tests.support import ROOT


def test_created_on_first_use_private_and_then_reused(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    key = DeviceKey.load_or_create(tmp_path / "var", "demo-kiosk-01")
    path = tmp_path / "var" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert DeviceKey.load_or_create(tmp_path / "var", "demo-kiosk-01").public_key == key.public_key
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE]  # no temp file left
    # never logged or shown: neither the PEM nor the raw private bytes
    secret = serialization.load_pem_private_key(path.read_bytes(), None).private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    shown = caplog.text + repr(key) + str(key)
    for form in (secret.hex(), base64.b64encode(secret).decode(), "PRIVATE KEY"):
        assert form not in shown
    assert key.fingerprint in caplog.text


def test_created_with_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        DeviceKey.load_or_create(tmp_path, "demo-kiosk-01")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


def test_two_processes_starting_at_once_get_one_key(tmp_path):
    script = ("import sys; from appliance.keys import DeviceKey;"
              "print(DeviceKey.load_or_create(sys.argv[1], 'demo-kiosk-01').fingerprint)")
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                              text=True) for _ in range(4)]
    prints = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(prints) == 1 and DeviceKey.load_or_create(tmp_path, "demo-kiosk-01").fingerprint in prints


def test_a_key_readable_by_others_is_refused(tmp_path):
    DeviceKey.load_or_create(tmp_path, "demo-kiosk-01")
    os.chmod(tmp_path / KEY_FILE, 0o644)
    with pytest.raises(KeyFileError, match=r"readable by others \(mode 0644\).*chmod 600"):
        DeviceKey.load_or_create(tmp_path, "demo-kiosk-01")


def test_a_damaged_key_file_is_named_and_not_replaced(tmp_path):
    path = tmp_path / KEY_FILE
    path.write_text("garbage")
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError, match=f"{path}: not a PEM private key"):
        DeviceKey.load_or_create(tmp_path, "demo-kiosk-01")
    assert path.read_text() == "garbage"


def test_load_existing_does_not_create(tmp_path):
    assert DeviceKey.load_existing(tmp_path, "demo-kiosk-01") is None
    assert not (tmp_path / KEY_FILE).exists()


def test_sign_and_verify_generically():
    key = DeviceKey.generate("locker-02")
    keys = TrustedKeys().with_key("locker-02", key.public_key)
    message = b"any bytes: a pickup code, a certificate"
    signature = key.sign(message)
    assert len(signature) == 64
    assert keys.verify("locker-02", message, signature) is KeyVerdict.VALID
    assert keys.verify("locker-02", message + b"!", signature) is KeyVerdict.BAD_SIGNATURE
    assert keys.verify("locker-02", message, bytes(64)) is KeyVerdict.BAD_SIGNATURE
    assert keys.verify("locker-03", message, signature) is KeyVerdict.UNKNOWN_KEY
    revoked = keys.with_key("locker-02", key.public_key, revoked=True)
    assert revoked.verify("locker-02", message, signature) is KeyVerdict.REVOKED
    assert revoked.verify("locker-02", message + b"!", signature) is KeyVerdict.BAD_SIGNATURE


def test_trusted_keys_file_round_trip(tmp_path):
    a, b = DeviceKey.generate("kiosk-a"), DeviceKey.generate("kiosk-b")
    keys = TrustedKeys().with_key("kiosk-a", a.public_key).with_key("kiosk-b", b.public_key, revoked=True)
    path = tmp_path / "keys.json"
    keys.save(path)
    raw = json.loads(path.read_text())
    assert raw == {"kiosk-a": {"public_key": encode_public_key(a.public_key), "revoked": False},
                   "kiosk-b": {"public_key": encode_public_key(b.public_key), "revoked": True}}
    loaded = TrustedKeys.load(path)
    assert loaded["kiosk-b"].revoked and loaded["kiosk-a"].public_key == a.public_key
    assert json.loads(json.dumps(a.trusted_entry())) == {"kiosk-a": raw["kiosk-a"]}


@pytest.mark.parametrize("text, message", [
    ("[]", "expected an object"),
    ('{"Kiosk A": {}}', "not a device id"),
    ('{"kiosk-a": {"public_key": "x"}}', "not base64"),
    ('{"kiosk-a": {"public_key": "AAAA"}}', "3 bytes; an Ed25519 key is 32"),
    ('{"kiosk-a": {"revoked": false}}', "public_key is missing"),
    ('{"kiosk-a": {"public_key": "' + "A" * 43 + '=", "revoked": "no"}}', "revoked must be true or false"),
    ('{"kiosk-a": {"public_key": "' + "A" * 43 + '=", "expires": 1}}', "unknown key 'expires'"),
    ('{"kiosk-a": ', "not valid JSON"),
])
def test_a_bad_trusted_keys_file_is_named(tmp_path, text, message):
    path = tmp_path / "keys.json"
    path.write_text(text)
    with pytest.raises(KeyFileError) as caught:
        TrustedKeys.load(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


def test_default_is_own_key_plus_the_last_sync(tmp_path, caplog):
    own = DeviceKey.load_or_create(tmp_path, "demo-kiosk-01")
    assert set(TrustedKeys.default(tmp_path, own)) == {"demo-kiosk-01"}
    other = DeviceKey.generate("locker-02")
    TrustedKeys().with_key("locker-02", other.public_key).save(tmp_path / TRUSTED_KEYS_FILE)
    keys = TrustedKeys.default(tmp_path, own)
    assert set(keys) == {"demo-kiosk-01", "locker-02"}
    assert keys["demo-kiosk-01"].public_key == own.public_key
    # the fleet list revoking this appliance's key wins
    TrustedKeys().with_key("demo-kiosk-01", own.public_key, revoked=True).save(tmp_path / TRUSTED_KEYS_FILE)
    assert TrustedKeys.default(tmp_path, own)["demo-kiosk-01"].revoked
    # the fleet list holding another key for this appliance: own key used, and said so
    TrustedKeys().with_key("demo-kiosk-01", other.public_key).save(tmp_path / TRUSTED_KEYS_FILE)
    with caplog.at_level(logging.WARNING):
        assert TrustedKeys.default(tmp_path, own)["demo-kiosk-01"].public_key == own.public_key
    assert "will not verify elsewhere" in caplog.text
    assert set(TrustedKeys.default(tmp_path, None)) == {"demo-kiosk-01"}


def test_merged_keeps_entries_only_the_file_has_and_takes_the_others_values(tmp_path):
    own, server, other = (DeviceKey.generate(n) for n in ("demo-kiosk-01", "server", "kiosk-02"))
    on_disk = TrustedKeys().with_key("demo-kiosk-01", own.public_key).with_key("kiosk-02", other.public_key)
    pulled = TrustedKeys().with_key("server", server.public_key).with_key("kiosk-02", other.public_key, True)
    merged = on_disk.merged(pulled)
    assert sorted(merged) == ["demo-kiosk-01", "kiosk-02", "server"]
    assert merged["kiosk-02"].revoked and merged["server"].public_key == server.public_key
    assert not on_disk["kiosk-02"].revoked  # a copy: the original is unchanged
    merged.save(tmp_path / TRUSTED_KEYS_FILE)
    assert TrustedKeys.load(tmp_path / TRUSTED_KEYS_FILE)["server"].public_key == server.public_key
    assert [p.name for p in tmp_path.iterdir()] == [TRUSTED_KEYS_FILE]  # the temp file was renamed
