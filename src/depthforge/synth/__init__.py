"""The procedural synthetic RGB-D world: scenes, camera paths, a vectorised ray caster, sensor
models, ordinal annotations, a dataset that renders on the fly and an exporter to the folder
format. Everything is deterministic from a seed; nothing is stored on disk.

The ray caster is ``depthforge.synth.render.render`` (not re-exported here, so that the name
``depthforge.synth.render`` keeps meaning the module)."""

from depthforge.synth.dataset import SynthDataset, parse_size, stereo_right_pose
from depthforge.synth.export import write_synth_folder
from depthforge.synth.relative import sample_ordinal_pairs
from depthforge.synth.scene import Label, Scene, World, generate_world

__all__ = [
    "Label",
    "Scene",
    "SynthDataset",
    "World",
    "generate_world",
    "parse_size",
    "sample_ordinal_pairs",
    "stereo_right_pose",
    "write_synth_folder",
]
