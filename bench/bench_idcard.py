"""ID card read → typed record over a pty, against the SAM simulator in a separate process.

A pty ignores the baud rate, so what is measured is the driver's own time (framing,
checks, typing the record, the simulator's turn-around): the overhead beyond the
bytes' transfer time, which is computed for 115200 baud and added for an estimate
of a real read. The baseline is bare pyserial writing the same three commands and
reading the same reply bytes from the same simulator in the same run.
"""
from __future__ import annotations

import time

import serial  # the bare baseline only; the driver itself goes through drivers.link

from bench.figures import Figure, p50, percentile
from drivers.idcard import codec
from drivers.idcard.device import IdCardReader
from drivers.idcard.record import IdCardRecord
from tests.support import SimProcess

ROUNDS = 200
BAUD = 115200
COMMANDS = ("find_card", "select_card", "read_text_photo")
REPLY_SIZES = (15, 19, 1295)  # find ok, select ok, text + photo (shared/protocols/idcard.md)


def _wire_ms(nbytes: int) -> float:
    return nbytes * 10 / BAUD * 1000  # 8N1: ten bit times a byte


def _time(fn, rounds: int) -> list[float]:
    for _ in range(5):  # warm caches and the pty
        fn()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run() -> list[Figure]:
    requests = [codec.encode_command(name) for name in COMMANDS]
    exchanged = sum(map(len, requests)) + sum(REPLY_SIZES)
    with SimProcess("drivers.idcard.sim", "--card", "1") as sim:
        reader = IdCardReader(sim.path, timeout=1.0, find_window=0.5)
        try:
            driver = _time(reader.read, ROUNDS)
        finally:
            reader.close()

        port = serial.Serial(sim.path, BAUD, timeout=1.0)
        replies: list[bytes] = []

        def bare() -> None:
            replies.clear()
            for request, size in zip(requests, REPLY_SIZES):
                port.write(request)
                replies.append(port.read(size))

        try:
            baseline = _time(bare, ROUNDS)
        finally:
            port.close()
    if [len(r) for r in replies] != list(REPLY_SIZES):
        raise RuntimeError(f"baseline read {[len(r) for r in replies]} bytes, expected {REPLY_SIZES}")

    read_reply = replies[-1]
    decode = _time(lambda: IdCardRecord.from_blocks(codec.parse_data(codec.BY_NAME["read_text_photo"],
                                                                       codec.decode_reply(read_reply))), 1000)

    wire_read, wire_all = _wire_ms(REPLY_SIZES[-1]), _wire_ms(exchanged)
    ours, bare_p50 = p50(driver), p50(baseline)
    return [
        Figure("read → record over a pty, p50 (overhead beyond wire time)", ours, "ms", target="<= 50 ms",
               ok=ours <= 50, baseline=bare_p50, note=f"{ROUNDS} reads; baseline: bare pyserial, same bytes"),
        Figure("read → record over a pty, p95", percentile(driver, 95), "ms", target="<= 50 ms",
               ok=percentile(driver, 95) <= 50, baseline=percentile(baseline, 95)),
        Figure("driver time beyond bare pyserial, p50", ours - bare_p50, "ms"),
        Figure("decode 1295-byte reply → checked record, p50", p50(decode) * 1000, "µs"),
        Figure("computed wire time of the 1295-byte read reply at 115200", wire_read, "ms"),
        Figure(f"computed wire time of the whole exchange ({exchanged} bytes) at 115200", wire_all, "ms"),
        Figure("estimated read on a real 115200 line (p50 + wire time)", ours + wire_all, "ms",
               baseline=bare_p50 + wire_all),
    ]
