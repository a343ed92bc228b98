"""The records of the literature's releases (MegaDepth, DIW, SfMLearner, DDVO) are consistent with
the architectures, converters and protocols they name."""

from __future__ import annotations

import re

import pytest

from depthforge.eval import get_protocol
from depthforge.models import MODELS
from depthforge.models.pretrained.catalog import PRETRAINED, RECORDS
from depthforge.models.pretrained.converters import CONVERTERS


def test_names_are_unique():
    assert len(PRETRAINED) == len(RECORDS)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
def test_record_names_what_exists(record):
    spec = MODELS[record.model]
    assert record.release_format in CONVERTERS
    assert record.output_space is spec.architecture.output_space
    assert set(record.config) <= set(spec.config.to_dict())
    assert record.urls and all(re.match(r"https?://", url) for url in record.urls)
    assert record.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", record.sha256)
    assert record.licence and record.paper and record.training_data
    for result in record.results:
        protocol = get_protocol(result.protocol)
        assert set(result.metrics) <= set(protocol.metrics), result.metrics
        assert all(0 <= value for value in result.metrics.values())
        assert result.align in (None, "median")
        assert (result.align == "median") == (
            not record.output_space.is_metric and protocol.task != "ordinal"
        )


def test_shared_archive_has_one_file_name():
    by_url: dict[str, set[str]] = {}
    for record in RECORDS:
        by_url.setdefault(record.urls[0], set()).add(record.file_name)
    assert all(len(names) == 1 for names in by_url.values())
