"""monodepth2's released model zips, converted by depthforge, against monodepth2's own networks.

    pip install --no-deps --target MONODEPTH2_DIR monodepth2   # or a nianticlabs/monodepth2 checkout
    python benchmarks/validate_monodepth2_release.py MONODEPTH2_DIR

For each monodepth2 record of the catalog (mono / stereo / mono+stereo at 640×192 and 1024×320):

1. builds monodepth2's ``networks.ResnetEncoder(18)`` + ``networks.DepthDecoder`` (and the pose
   networks, which the zip also holds), gives every tensor random values (BN statistics
   included) and writes a zip in the release layout: ``encoder.pth`` (state dict + ``height``,
   ``width``, ``use_stereo``), ``depth.pth``, ``pose_encoder.pth``, ``pose.pth``;
2. converts it with the ``monodepth2_zip`` converter into the record's model and config;
3. runs both on the same random image at the record's resolution and prints the max absolute
   difference of the four sigmoid disparities and of the depth — monodepth2's
   ``layers.disp_to_depth(disp, 0.1, 100)`` times ``STEREO_SCALE_FACTOR`` 5.4 for the stereo
   models (``evaluate_depth.py``), relative to its range.

monodepth2 is not a depthforge dependency (non-commercial licence); it is only imported here.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import zipfile
from pathlib import Path

import torch

from depthforge.models import create_model
from depthforge.models.io import load_checked_state
from depthforge.models.pretrained.catalog import PRETRAINED
from depthforge.models.pretrained.converters import CONVERTERS


def randomise(module: torch.nn.Module, generator: torch.Generator) -> None:
    """Random weights and BN statistics of order one."""
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            elif tensor.ndim == 4:
                fan_in = tensor[0].numel()
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * (2 / fan_in) ** 0.5)
            else:
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.1)


def write_release(path: Path, networks, height: int, width: int, stereo: bool, seed: int):
    """Write a release zip of random networks; return monodepth2's (encoder, decoder)."""
    generator = torch.Generator().manual_seed(seed)
    encoder = networks.ResnetEncoder(18, pretrained=False)
    decoder = networks.DepthDecoder(encoder.num_ch_enc, range(4))
    pose_encoder = networks.ResnetEncoder(18, pretrained=False, num_input_images=2)
    pose = networks.PoseDecoder(pose_encoder.num_ch_enc, 1, 2)
    files = {}
    for name, net in (
        ("encoder", encoder),
        ("depth", decoder),
        ("pose_encoder", pose_encoder),
        ("pose", pose),
    ):
        randomise(net, generator)
        state = net.state_dict()
        if name == "encoder":
            state |= {"height": height, "width": width, "use_stereo": stereo}
        buffer = io.BytesIO()
        torch.save(state, buffer)
        files[f"{name}.pth"] = buffer.getvalue()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return encoder.eval(), decoder.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "reference", type=Path, help="folder holding monodepth2's networks/ and layers.py"
    )
    args = parser.parse_args()
    if not (args.reference / "networks" / "depth_decoder.py").is_file():
        raise SystemExit(f"{args.reference}: no networks/depth_decoder.py (monodepth2) there")
    sys.path.insert(0, str(args.reference))
    import layers
    import networks

    worst = 0.0
    print(
        f"{'record':34s} {'size':>9s} {'disp std':>9s} {'max|Δdisp|':>11s} "
        f"{'max|Δdepth|/range':>18s}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for seed, record in enumerate(
            r for r in PRETRAINED.values() if r.release_format == "monodepth2_zip"
        ):
            height, width = record.config["input_size"]
            scale = record.metric_scale or 1.0
            path = Path(tmp) / record.file_name
            encoder, decoder = write_release(path, networks, height, width, scale != 1.0, seed)
            model = create_model(record.model, **record.config)
            load_checked_state(model, CONVERTERS[record.release_format](path), path)
            image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(seed))
            with torch.no_grad():
                outputs = decoder(encoder(image))
                ours = model.eval()(image)
            disp_diff = max(
                float((ours.disparities[s] - outputs[("disp", s)]).abs().max()) for s in range(4)
            )
            reference_depth = layers.disp_to_depth(outputs[("disp", 0)], 0.1, 100.0)[1] * scale
            span = float(reference_depth.max() - reference_depth.min())
            depth_diff = float((ours.depth - reference_depth).abs().max()) / span
            worst = max(worst, disp_diff, depth_diff)
            spread = float(outputs[("disp", 0)].std())
            print(
                f"{record.name:34s} {width:>4d}×{height:<4d} {spread:9.4f} {disp_diff:11.2e} "
                f"{depth_diff:18.2e}"
            )
    print("PASS" if worst <= 1e-5 else "FAIL", f"(worst {worst:.2e}; tolerance 1e-5)")


if __name__ == "__main__":
    main()
