"""The pretrained catalog: every record is consistent with the registries, and the README's table
is the catalog's."""

from __future__ import annotations

from pathlib import Path

import pytest

from depthforge.eval import get_protocol
from depthforge.eval.protocols import DEPTH_METRICS, ORDINAL_METRICS
from depthforge.models import MODELS, create_model
from depthforge.models.pretrained.catalog import PRETRAINED, catalog_markdown
from depthforge.models.pretrained.converters import CONVERTERS


@pytest.mark.parametrize("name", sorted(PRETRAINED))
def test_record_points_at_known_things(name):
    record = PRETRAINED[name]
    assert record.name == name and record.model in MODELS
    assert record.release_format in CONVERTERS and record.urls
    for result in record.results:
        protocol = get_protocol(result.protocol)
        assert set(result.metrics) <= {*DEPTH_METRICS, *ORDINAL_METRICS} and protocol.name == result.protocol
    if not record.commercial_use:  # the licence says why
        assert any(s in record.licence.lower() for s in ("non-commercial", "no licence"))


@pytest.mark.parametrize("name", ["fcrn_nyu", "monodepth2_stereo_1024x320"])
def test_record_config_builds_a_model_of_the_declared_output_space(name):
    record = PRETRAINED[name]
    model = create_model(record.model, **record.config)
    assert model.output_space is record.output_space


def test_readme_table_is_generated_from_the_catalog():
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert catalog_markdown() in readme
