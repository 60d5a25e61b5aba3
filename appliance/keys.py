"""This appliance's Ed25519 signing key, and the public keys it trusts.

Anything an appliance vouches for offline (certificate QR codes, locker pickup and
worker codes) is signed with its own key and checked against a set of trusted
public keys, with no network::

    key = DeviceKey.load_or_create(config.data_dir, config.appliance.id)
    signature = key.sign(message)
    keys = TrustedKeys.default(config.data_dir, own=key)
    keys.verify("demo-kiosk-01", message, signature)   # -> KeyVerdict.VALID

- The private key lives in ``DATA_DIR/device-key.pem`` (PKCS#8 PEM, mode 0600). It
  is created on first use, atomically: two processes starting at once end up with
  the same key. It is never logged, printed or put in an exception; only its public
  half and fingerprint are.
- A trusted-keys file is JSON, one entry per device id::

      {"demo-kiosk-01": {"public_key": "<base64 of the 32-byte raw key>", "revoked": false}}

  ``python -m forms public-key`` prints this appliance's own entry in that format.
  The sync agent merges the keys of the fleet and the server's own (``server``:
  worker and booking codes), as of its last sync, into ``DATA_DIR/trusted-keys.json``; :meth:`TrustedKeys.default` reads that file and
  adds this appliance's own key (unless the fleet list says it is revoked).
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import stat
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from appliance.errors import KeyFileError

log = logging.getLogger(__name__)

KEY_FILE = "device-key.pem"
TRUSTED_KEYS_FILE = "trusted-keys.json"
DEVICE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")  # as [appliance] id


class KeyVerdict(Enum):
    """What a signature check found."""

    VALID = "valid"
    BAD_SIGNATURE = "bad signature"  # the message or the signature was changed
    UNKNOWN_KEY = "unknown key"  # no trusted key for that device
    REVOKED = "revoked"  # the device's key was revoked


def fingerprint(public_key: bytes) -> str:
    """A short, printable name of a public key (first 8 bytes of its SHA-256, hex)."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def encode_public_key(public_key: bytes) -> str:
    return base64.b64encode(public_key).decode("ascii")


class DeviceKey:
    """The appliance's own signing key. ``repr`` and ``str`` never show the secret."""

    def __init__(self, device_id: str, private_key: Ed25519PrivateKey, path: str = "") -> None:
        if not DEVICE_ID.match(device_id):
            raise ValueError(f"device id {device_id!r}: lower-case letters, digits and '-'")
        self.device_id = device_id
        self.path = path
        self._private = private_key
        self.public_key: bytes = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @classmethod
    def generate(cls, device_id: str) -> DeviceKey:
        """A fresh key that lives only in memory (tests, tools)."""
        return cls(device_id, Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, device_id: str, seed: bytes) -> DeviceKey:
        """A key from a 32-byte seed: reproducible signatures for golden tests."""
        return cls(device_id, Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def load_or_create(cls, data_dir: str | os.PathLike, device_id: str) -> DeviceKey:
        """This appliance's key from ``data_dir/device-key.pem``, created if absent."""
        path = Path(data_dir) / KEY_FILE
        try:
            return cls._load(path, device_id)
        except FileNotFoundError:
            pass
        cls._create(path)
        key = cls._load(path, device_id)
        log.info("created this appliance's signing key %s (fingerprint %s)", path, key.fingerprint)
        return key

    @classmethod
    def load_existing(cls, data_dir: str | os.PathLike, device_id: str) -> DeviceKey | None:
        """This appliance's key if it has one yet (verifying must not create one)."""
        try:
            return cls._load(Path(data_dir) / KEY_FILE, device_id)
        except FileNotFoundError:
            return None

    @classmethod
    def _load(cls, path: Path, device_id: str) -> DeviceKey:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise KeyFileError(str(path), f"cannot read the signing key ({exc.strerror})",
                               hint="the appliance's services must run as the user owning data_dir") from None
        try:
            mode = os.fstat(fd).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyFileError(str(path), f"the signing key is readable by others (mode {stat.S_IMODE(mode):04o})",
                                   hint=f"chmod 600 {path}; anyone who read it can forge certificates, "
                                        "so consider revoking this device's key on the server")
            with os.fdopen(fd, "rb") as file:
                fd = -1
                data = file.read()
        finally:
            if fd >= 0:
                os.close(fd)
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise KeyFileError(str(path), "not a PEM private key",
                               hint="restore it from a backup, or move it away to create a new key "
                                    "(and enrol the new public key on the server)") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyFileError(str(path), f"not an Ed25519 key ({type(private).__name__})",
                               hint="move it away; a new Ed25519 key is created on the next start")
        return cls(device_id, private, str(path))

    @staticmethod
    def _create(path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            # Written under a private name, then linked into place: link() fails when
            # another process won the race, and then both use the winner's key.
            temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            try:
                os.fchmod(fd, 0o600)  # whatever the umask
                os.write(fd, pem)
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(temp, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(temp)
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise KeyFileError(str(path), f"cannot create the signing key ({exc.strerror})",
                               hint="check that data_dir exists and is writable by this service's user") from None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message`` (deterministic)."""
        return self._private.sign(message)

    def trusted_entry(self) -> dict[str, dict[str, object]]:
        """This key as a trusted-keys file entry (what the server publishes)."""
        return {self.device_id: {"public_key": encode_public_key(self.public_key), "revoked": False}}

    def __repr__(self) -> str:
        return f"<DeviceKey {self.device_id} {self.fingerprint}>"


@dataclass(frozen=True)
class TrustedKey:
    device_id: str
    public_key: bytes
    revoked: bool = False

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)


class TrustedKeys(Mapping[str, TrustedKey]):
    """Public keys by device id; verifies signatures offline."""

    def __init__(self, keys: Mapping[str, TrustedKey] | None = None, source: str = "") -> None:
        self._keys = dict(keys or {})
        self.source = source
        self._verifiers: dict[str, Ed25519PublicKey] = {}

    # -- the Mapping -------------------------------------------------------------
    def __getitem__(self, device_id: str) -> TrustedKey:
        return self._keys[device_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    # -- building ----------------------------------------------------------------
    @classmethod
    def parse(cls, text: str, source: str = "<keys>") -> TrustedKeys:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise KeyFileError(f"{source}:{exc.lineno}", f"not valid JSON: {exc.msg}") from None
        if not isinstance(raw, dict):
            raise KeyFileError(source, 'expected an object {"DEVICE_ID": {"public_key": …, "revoked": false}}')
        keys: dict[str, TrustedKey] = {}
        for device_id, entry in raw.items():
            where = f"device {device_id!r}"
            if not DEVICE_ID.match(device_id):
                raise KeyFileError(source, f"{where}: not a device id (lower-case letters, digits and '-')")
            if not isinstance(entry, dict):
                raise KeyFileError(source, f'{where}: expected {{"public_key": …, "revoked": false}}')
            unknown = set(entry) - {"public_key", "revoked"}
            if unknown:
                raise KeyFileError(source, f"{where}: unknown key {sorted(unknown)[0]!r} "
                                           "(an entry has public_key and revoked)")
            revoked = entry.get("revoked", False)
            if not isinstance(revoked, bool):
                raise KeyFileError(source, f"{where}: revoked must be true or false")
            keys[device_id] = TrustedKey(device_id, _decode_public_key(entry.get("public_key"), source, where),
                                         revoked)
        return cls(keys, source)

    @classmethod
    def load(cls, path: str | os.PathLike) -> TrustedKeys:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise KeyFileError(str(path), "no such trusted-keys file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyFileError(str(path), f"cannot read it ({exc})") from None
        return cls.parse(text, str(path))

    @classmethod
    def default(cls, data_dir: str | os.PathLike, own: DeviceKey | None) -> TrustedKeys:
        """The fleet's keys from the last sync (if any), plus this appliance's own key.

        The fleet list wins where it revokes this appliance's key; otherwise the key
        this appliance actually signs with is the one to check its codes against."""
        synced = Path(data_dir) / TRUSTED_KEYS_FILE
        keys = cls.load(synced) if synced.exists() else cls(source=str(synced))
        if own is None:
            return keys
        listed = keys.get(own.device_id)
        if listed is not None and listed.revoked:
            return keys
        if listed is not None and listed.public_key != own.public_key:
            log.warning("%s lists key %s for this appliance (%s), which signs with %s: "
                        "codes it issues will not verify elsewhere until the server has its key",
                        synced, listed.fingerprint, own.device_id, own.fingerprint)
        return keys.with_key(own.device_id, own.public_key)

    def with_key(self, device_id: str, public_key: bytes, revoked: bool = False) -> TrustedKeys:
        """A copy with ``device_id``'s entry set."""
        keys = dict(self._keys)
        keys[device_id] = TrustedKey(device_id, public_key, revoked)
        return TrustedKeys(keys, self.source)

    def merged(self, other: Mapping[str, TrustedKey]) -> TrustedKeys:
        """A copy with every entry of ``other`` set: ``other`` wins where both have one,
        and entries only this one has are kept (the sync agent merges what it pulls
        into the file, so a key put there by hand, or this appliance's own, stays)."""
        keys = dict(self._keys)
        keys.update({device_id: TrustedKey(device_id, key.public_key, key.revoked)
                     for device_id, key in other.items()})
        return TrustedKeys(keys, self.source)

    def to_json(self) -> str:
        return json.dumps({device: {"public_key": encode_public_key(k.public_key), "revoked": k.revoked}
                           for device, k in sorted(self._keys.items())}, indent=2) + "\n"

    def save(self, path: str | os.PathLike) -> None:
        """Write atomically (what the sync agent does after each sync)."""
        path = Path(path)
        temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(temp, "w", encoding="utf-8") as file:
            file.write(self.to_json())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)

    # -- checking ----------------------------------------------------------------
    def verify(self, device_id: str, message: bytes, signature: bytes) -> KeyVerdict:
        """Check ``signature`` over ``message`` by ``device_id``'s key, offline."""
        key = self._keys.get(device_id)
        if key is None:
            return KeyVerdict.UNKNOWN_KEY
        verifier = self._verifiers.get(device_id)
        if verifier is None:
            verifier = self._verifiers[device_id] = Ed25519PublicKey.from_public_bytes(key.public_key)
        try:
            verifier.verify(signature, message)
        except InvalidSignature:
            return KeyVerdict.BAD_SIGNATURE
        # A revoked key's signatures are genuine but no longer vouch for anything:
        # whoever stole the key can sign (and backdate) whatever they like.
        return KeyVerdict.REVOKED if key.revoked else KeyVerdict.VALID

    def __repr__(self) -> str:
        return f"<TrustedKeys {len(self)} from {self.source or 'memory'}>"


def _decode_public_key(value: object, source: str, where: str) -> bytes:
    if not isinstance(value, str):
        raise KeyFileError(source, f"{where}: public_key is missing (base64 of the 32-byte Ed25519 key)")
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raise KeyFileError(source, f"{where}: public_key is not base64") from None
    if len(raw) != 32:
        raise KeyFileError(source, f"{where}: public_key is {len(raw)} bytes; an Ed25519 key is 32")
    return raw
