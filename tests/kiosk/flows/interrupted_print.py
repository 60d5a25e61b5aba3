"""A kiosk process that prints one residence proof, as the kiosk's print flow does, and
is SIGKILLed mid-print by the test (``tests/kiosk/flows/test_interrupted_prints.py``).

    python -m tests.kiosk.flows.interrupted_print CONFIG

It says ``queued SERIAL JOB`` once CUPS has the job (its id recorded in the register),
then follows the job until the kill. A printer that never answers the submit keeps it
in the submit: the certificate is issued, no job recorded.
"""
from __future__ import annotations

import sys

from appliance.config import load
from kiosk.flows.printing import CertificatePrinting
from kiosk.store import open_store

PROOF = {"name": "张晓明", "id_number": "110101198503120033", "address": "示范街道幸福里社区12号楼3单元401室",
         "living_since": "2016-05-20", "purpose": "子女入学"}


def main(config_path: str) -> None:
    config = load(config_path, check_devices=False)
    printing = CertificatePrinting.from_config(config, open_store(config))
    job = printing.submit("residence_proof", PROOF)
    print(f"queued {job.serial} {job.job_id}", flush=True)
    result = printing.finish(job)
    print(f"finished {result.record.state.value}", flush=True)  # the test kills it before this


if __name__ == "__main__":
    main(sys.argv[1])
