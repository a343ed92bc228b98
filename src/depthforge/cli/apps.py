"""``depthforge pointcloud | dof | complete | parallax``: the RGB-D applications."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from depthforge.cli.common import (
    DepthFileOpt,
    DepthKindOpt,
    DepthScaleOpt,
    DeviceOpt,
    FovOpt,
    IntrinsicsOpt,
    ModelDirOpt,
    console,
    esc,
    torch_threads,
)
from depthforge.errors import DepthforgeError

app = typer.Typer()


@app.command()
def pointcloud(
    image: Annotated[Path, typer.Argument(help="The RGB photo.")],
    out: Annotated[
        Path,
        typer.Option(
            help="Output .ply, .obj or .glb file. PLY and OBJ: camera frame (x right, y down, "
            "z forward, metres); GLB: glTF frame (+y up, camera looking down -z)."
        ),
    ],
    depth: DepthFileOpt = None,
    depth_kind: DepthKindOpt = None,
    depth_scale: DepthScaleOpt = None,
    model: ModelDirOpt = None,
    device: DeviceOpt = "auto",
    intrinsics: IntrinsicsOpt = None,
    fov: FovOpt = None,
    mesh: Annotated[
        bool, typer.Option("--mesh", help="A triangle mesh, cut at depth edges.")
    ] = False,
    scale: Annotated[
        float | None, typer.Option(help="Metres per unit of a scale-invariant depth.")
    ] = None,
    allow_unit_scale: Annotated[
        bool, typer.Option("--allow-unit-scale", help="Accept relative depth in arbitrary units.")
    ] = False,
    no_normals: Annotated[
        bool,
        typer.Option(
            "--no-normals",
            help="Points and colours only (faster); normals shade the cloud in viewers "
            "and surface reconstruction needs them.",
        ),
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT.")] = False,
) -> None:
    """A coloured point cloud (or mesh) of a photo and its depth, in the camera frame."""
    from depthforge.apps.depth_input import DepthSource
    from depthforge.apps.pointcloud import pointcloud_command

    if model is not None:  # points, normals and meshes from a depth file: NumPy only
        torch_threads()

    summary = pointcloud_command(
        image,
        out,
        DepthSource(depth, depth_kind, depth_scale, model, device),
        intrinsics=intrinsics,
        fov=fov,
        mesh=mesh,
        scale=scale,
        allow_unit_scale=allow_unit_scale,
        normals=not no_normals,
        overwrite=overwrite,
    )
    console.print(summary.line(), highlight=False)


@app.command()
def dof(
    image: Annotated[Path, typer.Argument(help="The photo (sRGB).")],
    fnumber: Annotated[float, typer.Option(help="Aperture f-number N (> 0).")],
    depth: DepthFileOpt = None,
    depth_kind: DepthKindOpt = None,
    depth_scale: DepthScaleOpt = None,
    model: ModelDirOpt = None,
    device: DeviceOpt = "auto",
    focus: Annotated[float | None, typer.Option(help="Focus distance in metres.")] = None,
    focus_at: Annotated[str | None, typer.Option(help="Focus on the depth at pixel X,Y.")] = None,
    preset: Annotated[str, typer.Option(help="Lens preset: phone or dslr.")] = "phone",
    focal_mm: Annotated[
        float | None, typer.Option(help="Focal length in mm (overrides the preset).")
    ] = None,
    sensor_mm: Annotated[
        float | None, typer.Option(help="Sensor width in mm (overrides the preset).")
    ] = None,
    aperture: Annotated[str, typer.Option(help="disc or hexagon.")] = "disc",
    highlight_boost: Annotated[
        float, typer.Option(help="Bloom of bright highlights (0 = off).")
    ] = 0.0,
    out: Annotated[Path | None, typer.Option(help="Output image (default: IMAGE_dof.png).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT.")] = False,
) -> None:
    """Synthetic shallow depth of field: thin-lens blur in linear light, occlusion-aware layers.

    A depth file other than .npy needs its --depth-kind (and --depth-scale for png16), as for
    every command."""
    from depthforge.apps.depth_input import DepthSource
    from depthforge.apps.dof import dof_command

    torch_threads()

    if (focus is None) == (focus_at is None):
        raise DepthforgeError("give exactly one of --focus and --focus-at")
    at = None
    if focus_at is not None:
        try:
            x, y = (int(v) for v in focus_at.split(","))
        except ValueError:
            raise DepthforgeError(f"--focus-at {focus_at!r}: expected X,Y in pixels") from None
        at = (x, y)
    path = dof_command(
        image,
        DepthSource(depth, depth_kind, depth_scale, model, device),
        focus=focus,
        focus_at=at,
        fnumber=fnumber,
        focal_mm=focal_mm,
        preset=preset,
        sensor_width_mm=sensor_mm,
        aperture=aperture,
        highlight_boost=highlight_boost,
        out=out,
        overwrite=overwrite,
    )
    console.print(f"wrote [bold]{esc(path)}[/]")


@app.command()
def complete(
    image: Annotated[Path, typer.Argument(help="The RGB photo.")],
    sparse: Annotated[
        Path,
        typer.Option(
            help="Sparse or holey depth registered to IMAGE (0 = no sample), or a KITTI "
            "velodyne .bin scan (projected into IMAGE with --calib)."
        ),
    ],
    out: Annotated[Path, typer.Option(help="Output: .npy metres or .png 16-bit millimetres.")],
    model: Annotated[
        Path | None,
        typer.Option(
            help="A saved model folder or a pretrained name: sparse_to_dense completes; a plain "
            "one needs fusion."
        ),
    ] = None,
    method: Annotated[str, typer.Option(help="colorization or fusion.")] = "colorization",
    device: DeviceOpt = "auto",
    depth_kind: DepthKindOpt = None,
    depth_scale: DepthScaleOpt = None,
    calib: Annotated[
        Path | None,
        typer.Option(
            help="Calibration of a velodyne scan: the KITTI raw date folder (calib_cam_to_cam.txt, "
            "calib_velo_to_cam.txt) or an object calib .txt. Default: found beside the scan in "
            "either KITTI layout."
        ),
    ] = None,
    camera: Annotated[
        int,
        typer.Option(help="KITTI camera of IMAGE that a scan is projected into (2: left colour)."),
    ] = 2,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace OUT.")] = False,
) -> None:
    """Dense depth from sparse depth (LiDAR, Kinect holes) guided by the image."""
    from depthforge.apps.completion import complete_command

    torch_threads()

    summary = complete_command(
        image,
        sparse,
        out,
        method=method,
        model=model,
        device=device,
        depth_kind=depth_kind,
        depth_scale=depth_scale,
        calib=calib,
        camera=camera,
        overwrite=overwrite,
    )
    console.print(summary.line(), highlight=False)


@app.command()
def parallax(
    image: Annotated[Path, typer.Argument(help="The photo.")],
    out: Annotated[Path, typer.Option(help="Output video: .mp4 (extra 'video'), .gif or .webp.")],
    depth: DepthFileOpt = None,
    depth_kind: DepthKindOpt = None,
    depth_scale: DepthScaleOpt = None,
    model: ModelDirOpt = None,
    device: DeviceOpt = "auto",
    intrinsics: IntrinsicsOpt = None,
    fov: FovOpt = None,
    frames: Annotated[int, typer.Option(help="Frames of the looping camera swing.")] = 48,
    fps: Annotated[float, typer.Option(help="Frames per second.")] = 24.0,
    amount: Annotated[
        float, typer.Option(help="Near/far parallax as a fraction of the image width.")
    ] = 0.03,
    stereo: Annotated[
        Path | None, typer.Option(help="Also write the stereo pair, side by side (PNG/JPEG).")
    ] = None,
    anaglyph: Annotated[
        Path | None, typer.Option(help="Also write a red-cyan anaglyph (PNG/JPEG).")
    ] = None,
    baseline: Annotated[
        float | None,
        typer.Option(help="Stereo baseline in depth units (default 0.065 m, or near depth / 30)."),
    ] = None,
    anaglyph_method: Annotated[
        str, typer.Option(help="dubois (least squares) or color (R from left, GB from right).")
    ] = "dubois",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing outputs.")
    ] = False,
) -> None:
    """A "3D photo": novel views of IMAGE by depth-based forward warping, as a looping video;
    optionally a stereo pair and an anaglyph."""
    from depthforge.apps.depth_input import DepthSource
    from depthforge.apps.parallax import parallax_command

    torch_threads()

    summary = parallax_command(
        image,
        out,
        DepthSource(depth, depth_kind, depth_scale, model, device),
        intrinsics=intrinsics,
        fov=fov,
        frames=frames,
        fps=fps,
        parallax=amount,
        stereo=stereo,
        anaglyph_out=anaglyph,
        baseline=baseline,
        anaglyph_method=anaglyph_method,
        overwrite=overwrite,
    )
    console.print(summary.line(), highlight=False)
