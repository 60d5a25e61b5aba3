"""The certificate office: issuing a certificate from a template and data, as this
appliance (its key, its register, its configured issuer and look)::

    office = CertificateOffice.from_config(config, store)
    certificate = office.issue("residence_proof", data, lang="zh")
    certificate.pdf        # the bytes to print; also kept at certificate.path

Issuing checks the data (a missing required field or an unknown key is an error
naming it), takes the next serial and records the signed code in the register (one
transaction), renders the PDF and keeps it for re-prints. It never prints: the
kiosk's print flow hands ``certificate.pdf`` to the printer driver.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from appliance.config import ROOT, Config
from appliance.keys import DeviceKey, TrustedKeys
from forms.fields import Filled, IdMask, IssuerInfo, fill
from forms.register import Register
from forms.render import Look, preflight, render
from forms.stamp import Signer, Stamp
from forms.templates import Catalogue, Template
from sync.store import Store

PDF_FOLDER = "certificates"  # inside data_dir


def install_path(value: str) -> str:
    """A configured path: absolute as given, else relative to the install folder."""
    if not value:
        return ""
    path = Path(value)
    return str(path if path.is_absolute() else ROOT / path)


@dataclass(frozen=True)
class Settings:
    """What ``[forms]`` and ``[appliance]`` of a configuration say about certificates."""

    catalogue: Catalogue
    issuer: IssuerInfo
    look: Look
    id_mask: IdMask
    keep_days: int
    device_id: str
    data_dir: Path

    @classmethod
    def from_config(cls, config: Config) -> Settings:
        forms = config.forms
        return cls(Catalogue(install_path(forms.templates_dir)),
                   IssuerInfo(forms.issuer, forms.issuer_en, config.appliance.community),
                   Look(font=forms.font, seal_image=install_path(forms.seal_image), verify_url=forms.verify_url),
                   forms.id_mask, forms.keep_printed_days, config.appliance.id, config.data_dir)

    def device_key(self) -> DeviceKey:
        return DeviceKey.load_or_create(self.data_dir, self.device_id)

    def trusted_keys(self) -> TrustedKeys:
        """This appliance's own key (if it has one yet) and the fleet's from the last sync."""
        return TrustedKeys.default(self.data_dir, DeviceKey.load_existing(self.data_dir, self.device_id))


@dataclass(frozen=True)
class Certificate:
    stamp: Stamp
    template: Template
    filled: Filled
    lang: str
    pdf: bytes
    path: Path  # the kept copy, for a re-print

    @property
    def serial(self) -> str:
        return self.stamp.serial


class CertificateOffice:
    def __init__(self, settings: Settings, register: Register, signer: Signer) -> None:
        self.settings = settings
        self.register = register
        self.signer = signer

    @classmethod
    def from_config(cls, config: Config, store: Store, signer: Signer | None = None) -> CertificateOffice:
        """``store`` must have been opened with :data:`forms.register.migrations`."""
        settings = Settings.from_config(config)
        register = Register(store, config.appliance.id, pdf_dir=config.data_dir / PDF_FOLDER,
                            keep_days=settings.keep_days)
        return cls(settings, register, signer or settings.device_key())

    @property
    def catalogue(self) -> Catalogue:
        return self.settings.catalogue

    def fill(self, template_id: str, data: Mapping[str, Any]) -> Filled:
        """Check ``data`` for ``template_id`` without issuing anything."""
        return fill(self.catalogue.get(template_id), data, issuer=self.settings.issuer,
                    id_mask=self.settings.id_mask)

    def issue(self, template_id: str, data: Mapping[str, Any], *, lang: str = "zh",
              now: datetime | None = None, for_print: bool = True) -> Certificate:
        """``for_print=False``: the PDF goes to a file, not to this appliance's printer
        (the register then never takes it for a print a crash interrupted)."""
        template = self.catalogue.get(template_id)
        filled = fill(template, data, issuer=self.settings.issuer, id_mask=self.settings.id_mask)
        preflight(template, filled, lang=lang, look=self.settings.look)  # before a serial is spent
        issued_at = (now or datetime.now()).astimezone()
        stamp = self.register.issue(self.signer, template=template.id, lang=lang, canonical=filled.canonical(),
                                    issued_at=issued_at, valid_days=template.spec.template.valid_days,
                                    for_print=for_print)
        pdf = render(template, filled, stamp, lang=lang, look=self.settings.look)
        path = self.register.keep_pdf(stamp.serial, pdf)
        return Certificate(stamp, template, filled, lang, pdf, path)
