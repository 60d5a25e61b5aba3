"""``python -m forms``: certificate templates, rendering and verification.

    python -m forms list [--json]
    python -m forms fields TEMPLATE [--json]
    python -m forms render TEMPLATE (--data FILE.json | --example) -o OUT.pdf [--lang en]
    python -m forms verify (FILE.pdf | --qr TEXT [--data FILE.json]) [--keys KEYS.json] [--json]
    python -m forms public-key [--json]

``render`` issues a real certificate: it takes this appliance's next serial from the
store (so the kiosk must not hold it at the same time), signs with its key and
records it. ``verify`` works offline; its exit status is 0 only for a valid
certificate: 1 tampered, 3 unknown key, 4 revoked, 5 expired (2: a usage error).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from appliance.cli import add_config_argument, load_or_exit, main_guard
from appliance.errors import KeyFileError
from forms.errors import FormsError
from forms.fields import canonical_bytes, fill
from forms.office import CertificateOffice, Settings
from forms.verify import Verdict, Verification, verify_code, verify_pdf

EXIT = {Verdict.VALID: 0, Verdict.TAMPERED: 1, Verdict.UNKNOWN_KEY: 3, Verdict.REVOKED: 4, Verdict.EXPIRED: 5}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m forms", description="Certificate templates, rendering and "
                                                                      "offline verification.")
    sub = top.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="the templates, their names and languages")
    add_config_argument(p)
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("fields", help="a template's fields: name, type, whether required, label")
    add_config_argument(p)
    p.add_argument("template")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("render", help="issue a certificate from data: a signed PDF with the next serial")
    add_config_argument(p)
    p.add_argument("template")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", metavar="FILE.json", help="the field values, a JSON object")
    source.add_argument("--example", action="store_true", help="the template's example data (a preview)")
    p.add_argument("-o", "--output", metavar="OUT.pdf", required=True)
    p.add_argument("--lang", choices=["zh", "en"], default="zh")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("verify", help="check a certificate offline: valid, tampered, unknown key, revoked")
    add_config_argument(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("file", nargs="?", metavar="FILE.pdf")
    what.add_argument("--qr", metavar="TEXT", help="the text of a certificate's QR code")
    p.add_argument("--data", metavar="FILE.json", help="with --qr: the data as given to render, to check the content")
    p.add_argument("--keys", metavar="KEYS.json", help="trusted keys {device: {public_key, revoked}} (default: this "
                                                       "appliance's own and those of its last sync)")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("public-key", help="this appliance's public key, as a trusted-keys entry")
    add_config_argument(p)
    p.add_argument("--json", action="store_true", help="(the output is always JSON)")
    return top


@main_guard
def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = load_or_exit(args.config, check_devices=False)
    settings = Settings.from_config(config)
    try:
        return COMMANDS[args.command](args, config, settings)
    except (FormsError, KeyFileError) as exc:
        print(exc, file=sys.stderr)
        return 1


def cmd_list(args, config, settings: Settings) -> int:
    templates = settings.catalogue.all()
    if args.json:
        print(json.dumps([{"id": t.id, "name": t.name, "name_en": t.spec.template.name_en,
                           "version": t.spec.template.version, "languages": t.languages,
                           "valid_days": t.spec.template.valid_days} for t in templates],
                         ensure_ascii=False, indent=2))
        return 0
    for t in templates:
        print(f"{t.id:<22} {t.name} / {t.spec.template.name_en}  (v{t.spec.template.version}; "
              f"{', '.join(t.languages)})")
    return 0


def cmd_fields(args, config, settings: Settings) -> int:
    fields = settings.catalogue.get(args.template).describe_fields()
    if args.json:
        print(json.dumps(fields, ensure_ascii=False, indent=2))
        return 0
    for f in fields:
        flag = "required" if f["required"] else ("from config" if f.get("from_config") else "optional")
        print(f"{f['name']:<16} {f['type']:<10} {flag:<11} {f['label']} / {f['label_en']}")
        for c in f.get("columns", []):
            print(f"  .{c['name']:<13} {c['type']:<10} {'required' if c['required'] else 'optional':<11} "
                  f"{c['label']} / {c['label_en']}")
    return 0


def cmd_render(args, config, settings: Settings) -> int:
    from sync.errors import StoreError
    from sync.store import Store

    from forms.register import migrations

    template = settings.catalogue.get(args.template)
    data = template.example() if args.example else _read_json(args.data)
    # Check everything that can be checked before opening the store and spending a serial.
    fill(template, data, issuer=settings.issuer, id_mask=settings.id_mask)
    try:
        store = Store(config.store_path, [migrations])
    except StoreError as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        office = CertificateOffice.from_config(config, store)
        certificate = office.issue(template.id, data, lang=args.lang, for_print=False)
    finally:
        store.close()
    Path(args.output).write_bytes(certificate.pdf)
    if args.json:
        print(json.dumps({"serial": certificate.serial, "template": template.id, "lang": args.lang,
                          "output": args.output, "code": certificate.stamp.text}, indent=2))
    else:
        print(f"{args.output}: {template.name} {certificate.serial} ({len(certificate.pdf)} bytes)")
    return 0


def cmd_verify(args, config, settings: Settings) -> int:
    from appliance.keys import TrustedKeys

    keys = TrustedKeys.load(args.keys) if args.keys else settings.trusted_keys()
    if args.file:
        if args.data:
            print("--data goes with --qr; a PDF carries its own data", file=sys.stderr)
            return 2
        try:
            pdf = Path(args.file).read_bytes()
        except OSError as exc:
            print(f"{args.file}: cannot read it ({exc.strerror})", file=sys.stderr)
            return 2
        result = verify_pdf(pdf, keys, catalogue=settings.catalogue, look=settings.look, source=args.file)
    else:
        canonical = None
        if args.data:
            from forms import stamp as stamps
            from forms.errors import CodeError
            try:
                template_id = stamps.parse(args.qr).template
            except CodeError:
                template_id = ""
            if template_id:
                template = settings.catalogue.get(template_id)
                canonical = canonical_bytes(fill(template, _read_json(args.data), issuer=settings.issuer,
                                                 id_mask=settings.id_mask).values)
        result = verify_code(args.qr, keys, canonical=canonical)
    _report(result, args.json)
    return EXIT[result.verdict]


def _report(result: Verification, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    print(f"{result.verdict.value}: {result.reason}")
    s = result.stamp
    if s is not None:
        expiry = f", valid until {s.expires.isoformat()}" if s.expires else ""
        print(f"  {s.template} {s.serial}, issued {s.issued_at.isoformat()} by {s.device}{expiry}")
    for note in result.notes:
        print(f"  {note}")


def cmd_public_key(args, config, settings: Settings) -> int:
    key = settings.device_key()
    print(json.dumps(key.trusted_entry(), indent=2))
    return 0


def _read_json(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormsError(f"{path}: no such data file") from None
    except json.JSONDecodeError as exc:
        raise FormsError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None


COMMANDS = {"list": cmd_list, "fields": cmd_fields, "render": cmd_render, "verify": cmd_verify,
            "public-key": cmd_public_key}

if __name__ == "__main__":
    sys.exit(main())
