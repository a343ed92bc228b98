"""The pretrained catalog: every record is consistent with the architectures, converters and
protocols it names, and the README's table is the catalog's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from depthforge.eval import get_protocol
from depthforge.models import MODELS, create_model
from depthforge.models.pretrained.catalog import PRETRAINED, RECORDS, catalog_markdown
from depthforge.models.pretrained.converters import CONVERTERS
from depthforge.types import OutputSpace


def test_names_are_unique():
    assert len(PRETRAINED) == len(RECORDS)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.name)
def test_record_names_what_exists(record):
    spec = MODELS[record.model]
    assert record.release_format in CONVERTERS
    # a metric scale (monodepth2's stereo ×5.4) turns a relative architecture's output into metres
    expected_space = (
        OutputSpace.METRIC_DEPTH if record.metric_scale else spec.architecture.output_space
    )
    assert record.output_space is expected_space
    assert set(record.config) <= set(spec.config.to_dict())
    assert record.urls and all(re.match(r"https?://", url) for url in record.urls)
    assert record.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", record.sha256)
    assert record.licence and record.paper and record.training_data
    if not record.commercial_use:  # the licence says why
        assert any(s in record.licence.lower() for s in ("non-commercial", "no licence"))
    for result in record.results:
        protocol = get_protocol(result.protocol)
        assert protocol.name == result.protocol
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


@pytest.mark.parametrize("name", ["fcrn_nyu", "monodepth2_stereo_1024x320"])
def test_record_config_builds_a_model_of_the_declared_output_space(name):
    record = PRETRAINED[name]
    model = create_model(record.model, **record.config)
    assert model.output_space is record.output_space


def test_readme_table_is_generated_from_the_catalog():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert catalog_markdown() in readme
