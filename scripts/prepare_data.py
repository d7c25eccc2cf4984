"""Prepare a public data set (or two folders of one's own images) in the ``trainA/trainB/testA/testB`` layout.

Usage::

    python scripts/prepare_data.py DATASET --source PATH_OR_URL --out DIR [options]

DATASET: ixi, penicillium, planaria, stable_calcium, stable_virtual_he, in_silico_labeling, deepliif, folders,
w2s, spm_templates, templates_to_subject, cellprofiler_unmixing (see ``common/prepare`` for each split, and README
"Real data").
``--source`` is a local folder, a local archive (.zip/.tar/.tar.gz) or a URL; downloads resume and are verified
against ``--checksum md5:...`` / ``sha256:...`` where the provider publishes one (IXI without ``--source``
downloads its two archives). ``--out`` must be a new or empty folder; ``OUT/prepared.json`` records the split.
Other options go to the data set's function (e.g. ``--n_train 254 --n_test 64 --seed 0`` for IXI,
``--a DIR --b DIR`` for folders, ``--panel_b dapi`` for DeepLIIF).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import fire

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common.errors import install_cli_error_hook  # noqa: E402
from common.prepare import DATASETS  # noqa: E402


def main(dataset: str, out: str, source: str | None = None, **options) -> None:
    """Prepare ``dataset`` from ``source`` into ``out``; print the counts per folder."""
    if dataset not in DATASETS:
        sys.exit(f"prepare_data: unknown data set {dataset!r}; one of: {', '.join(sorted(DATASETS))}")
    install_cli_error_hook()
    record = DATASETS[dataset](source, out, **options)
    print(json.dumps(record["counts"]))


if __name__ == "__main__":
    fire.Fire(main)
