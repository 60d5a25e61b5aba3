"""The kiosk's devices and data, opened lazily and only ever used off the UI thread
(through :class:`kiosk.jobs.Jobs` or the card watch's own thread).

- the ID card reader (``[idcard]``): a simulated reader (``sim://``) comes with the
  simulator's photo decoder when ``wlt_decoder`` is empty, so the demo's face check
  has its reference;
- the camera (``[camera]``), started on first use; with the synthetic camera the
  face check watches a rehearsal resident made from the card's own photo
  (:class:`kiosk.identity.sim.RehearsalFace`): the demo and the tests run the
  whole check, liveness included, with no person in front of the machine;
- the face engine, the printer flow, the store (:mod:`kiosk.store`), the locker
  daemon's API;
- at start-up (the warm-up), the certificates a killed kiosk left "issued" are settled
  from what CUPS says of their jobs (:meth:`Devices.settle_prints`).
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from appliance.config import Config

log = logging.getLogger("kiosk.devices")
REHEARSAL_DEGREES = 25
HEARTBEAT_SOURCE = "kiosk"  # the kiosk app's half of the box on the devices page (sync.wire.Heartbeat)


class Devices:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._reader = None
        self._camera = None
        self._engine = None
        self._store = None
        self._printing = None
        self._following = None  # the thread following prints a crash interrupted (settle_prints)
        self._data = None
        self.card_watch = None  # the app's CardWatch, paused while the health probe asks the reader
        self._agent = None  # the sync agent's thread (start_sync)
        self._closed = False
        # called on the agent's thread after each round with its sync.agent.agent.Round
        self.synced: list = []

    # -- the store and what was synced -----------------------------------------------
    @property
    def store(self):
        with self._lock:
            if self._store is None:
                from kiosk.store import open_store
                self._store = open_store(self.config)
            return self._store

    @property
    def data(self):
        """The synced content (:class:`kiosk.store.content.SyncedContent`)."""
        with self._lock:
            if self._data is None:
                from kiosk.store.content import SyncedContent
                self._data = SyncedContent.for_config(self.config)
            return self._data

    # -- the card reader --------------------------------------------------------------
    @property
    def reader(self):
        with self._lock:
            if self._reader is None:
                from drivers.idcard.device import IdCardReader
                from drivers.idcard.wlt import load_decoder
                cfg = self.config.idcard
                spec = cfg.wlt_decoder or ("sim" if cfg.url.startswith("sim://") else "")
                reader = IdCardReader(cfg.url, baudrate=cfg.baud, timeout=cfg.timeout_ms / 1000,
                                      find_window=cfg.find_window_ms / 1000, decoder=load_decoder(spec))
                reader.open()
                self._reader = reader
            return self._reader

    def use_sim_decoder(self) -> None:
        """Tests and make run: the reader on a pty is the simulator: decode its photos."""
        from drivers.idcard.wlt import load_decoder
        self.reader.decoder = load_decoder("sim")

    # -- the camera and the face check ---------------------------------------------------
    @property
    def camera_enabled(self) -> bool:
        return self.config.camera.enabled

    @property
    def synthetic_camera(self) -> bool:
        return self.config.camera.url.startswith("synthetic:")

    @property
    def camera(self):
        with self._lock:
            if self._camera is None:
                from drivers.camera import Camera
                self._camera = Camera(self.config.camera.url).start()
            return self._camera

    @property
    def engine(self):
        with self._lock:
            if self._engine is None:
                from kiosk.identity import FaceEngine
                self._engine = FaceEngine.from_settings(self.config.identity)
            return self._engine

    def face_feed(self, record):
        """Frames for the face check of the resident on ``record``: the camera, or with
        the synthetic camera a rehearsal resident made from the card's own photo."""
        if self.synthetic_camera:
            import cv2
            import numpy as np

            from kiosk.identity.sim import RehearsalFace
            data = self.reader.photo_image(record)
            portrait = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            try:
                # 25°: the card photos are 102 × 126; turned further, the upscaled face
                # loses its landmarks on some of the demo cards (measured on all four).
                return RehearsalFace(self.engine, portrait, degrees=REHEARSAL_DEGREES)
            finally:
                portrait.fill(0)
        from kiosk.identity import CameraFeed
        return CameraFeed(self.camera)

    def households(self):
        from kiosk.store.households import Households
        return Households(self.data)

    def subsidies(self):
        from kiosk.store.subsidy import Subsidies
        return Subsidies(self.data, self.store)

    def warm_up(self) -> list[str]:
        """Open and load what the first resident would otherwise wait for (and what
        would hold the interpreter while it loads): the face models, the card
        reader, the store, the certificate office. Blocking: a job at start-up.
        Returns what could not be prepared (each still fails clearly when used)."""
        problems: list[str] = []
        steps = [("store", lambda: self.store), ("printing", lambda: self.printing.office.catalogue),
                 ("reader", lambda: self.reader)]
        if self.config.printer.enabled:
            # the CJK font is parsed once per process (~0.5 s holding the GIL in long
            # stretches): here, not in the middle of the first resident's print
            steps.insert(2, ("CJK font", lambda: load_font(self.config.forms.font)))
            steps.insert(2, ("interrupted prints", self.settle_prints))
        if self.camera_enabled:
            steps.insert(0, ("face models", lambda: self.engine))
        for name, step in steps:
            try:
                step()
            except Exception as exc:  # reported; the journey that needs it explains it then
                log.warning("warm-up: %s not ready: %s", name, exc)
                problems.append(f"{name}: {exc}")
        return problems

    # -- printing ---------------------------------------------------------------------------
    @property
    def printing(self):
        with self._lock:
            if self._printing is None:
                from kiosk.flows.printing import CertificatePrinting
                self._printing = CertificatePrinting.from_config(self.config, self.store)
            return self._printing

    def settle_prints(self) -> None:
        """The certificates a killed kiosk left "issued" (its print interrupted), settled
        from CUPS (:meth:`kiosk.flows.printing.CertificatePrinting.settle`) before anyone
        prints. A job still in the printer is followed to its end on a thread of its own:
        nobody waits for it. Blocking (asks CUPS): a job at start-up."""
        printing = self.printing
        following = printing.settle().following
        if not following:
            return

        def follow() -> None:
            for job in following:
                if self._closed:
                    return  # still issued: the next start settles it
                try:
                    printing.follow([job])
                except Exception as exc:  # still issued: the next start settles it
                    log.warning("following the interrupted print of certificate %s: %s", job.serial, exc)
        with self._lock:
            if self._closed:
                return
            self._following = threading.Thread(target=follow, name="interrupted-prints", daemon=True)
            self._following.start()

    # -- the locker daemon -------------------------------------------------------------------
    @property
    def locker_socket(self) -> Path:
        path = Path(self.config.locker.socket)
        return path if path.is_absolute() else self.config.data_dir / path

    def locker(self, request: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
        """One request to the locker daemon (blocking: call it in a job)."""
        from appliance import jsonline
        return jsonline.request(self.locker_socket, request, timeout=timeout, peer="the locker daemon")

    # -- the sync agent ----------------------------------------------------------------------
    def health(self):
        """The peripherals the heartbeat carries (:mod:`kiosk.health`; blocking)."""
        from kiosk.health import peripherals
        return peripherals(self)

    @property
    def open_camera(self):
        """The camera if it runs (None: not opened yet, or the synthetic rehearsal)."""
        return self._camera

    def start_sync(self) -> None:
        """Run the sync agent on the kiosk's store as a thread of this process
        (``[sync] enabled``): it pushes the kiosk's own outbox (certifications, reports,
        certificates, drop-offs) and pulls what the server publishes. The locker daemon
        runs its own agent on its own store (``[locker] store``): one agent a store.
        Blocking (opens the store): a job. Nothing happens once :meth:`close` ran."""
        if not self.config.sync.enabled or not self.config.sync.server_url:
            return
        with self._lock:
            if self._closed or self._agent is not None:
                return
            from sync.agent.agent import Agent

            class KioskAgent(Agent):
                """The agent, telling the kiosk what each round did (new announcements)."""

                def run_once(agent):  # noqa: N805 (the agent, not the devices)
                    done = Agent.run_once(agent)
                    for listener in list(self.synced):
                        try:
                            listener(done)
                        except Exception as exc:  # a listener's fault is not the round's
                            log.warning("after a sync round: %s", exc)
                    return done

            self._agent = KioskAgent.from_config(self.store, self.config, health=self.health,
                                                 source=HEARTBEAT_SOURCE).start()
        log.info("sync agent started for %s (server %s)", self.config.store_path.name, self.config.sync.server_url)

    @property
    def agent(self):
        """The running sync agent, or None (not started, [sync] off, or closed)."""
        return self._agent

    def sync_soon(self) -> None:
        """New events in the outbox: push them now if the agent runs."""
        agent = self._agent
        if agent is not None:
            agent.wake()

    def sync_now(self):
        """One round now (admin mode): push, pull, heartbeat. Blocking."""
        from sync.agent.agent import Agent
        agent = self._agent
        if agent is not None:
            return agent.run_once()
        with Agent.from_config(self.store, self.config, health=self.health, source=HEARTBEAT_SOURCE) as once:
            done = once.run_once()
        for listener in list(self.synced):
            listener(done)
        return done

    # -- closing ---------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._closed = True
            agent, self._agent = self._agent, None
        if agent is not None:  # outside the lock: its heartbeat's probe takes it
            agent.stop(timeout=10)  # its round ends first: the store closes after it
            agent.close()
        following, self._following = self._following, None
        if following is not None:  # a job it follows has seconds to end; after that the next start settles it
            following.join(timeout=5)
        with self._lock:
            for name in ("_camera",):
                thing = getattr(self, name)
                if thing is not None:
                    try:
                        thing.stop()
                    except Exception as exc:  # closing down: say it, go on
                        log.warning("closing %s: %s", name, exc)
                    setattr(self, name, None)
            for name in ("_reader", "_store"):
                thing = getattr(self, name)
                if thing is not None:
                    try:
                        thing.close()
                    except Exception as exc:
                        log.warning("closing %s: %s", name, exc)
                    setattr(self, name, None)


def load_font(path):
    from forms.render import load_font as load

    return load(path)
