"""Coloured point clouds and meshes from an RGB image and its depth: PLY, OBJ and GLB.

Every valid pixel ``(u, v)`` with depth ``z`` becomes the camera-frame point
``X = z · K⁻¹ [u, v, 1]ᵀ``, i.e. ``x = (u − cx) z / fx``, ``y = (v − cy) z / fy`` (pinhole model,
Hartley & Zisserman 2004, Eq. 6.5, computed in closed form by :func:`lift_pixels`; ``K`` must be
a pinhole matrix), coloured by its pixel and carrying the normal of
:func:`depthforge.geometry.grid_normals.normal_map` (the method of
:func:`~depthforge.geometry.normals.normals_from_depth`, in NumPy; ``(0, 0, 0)`` where that normal is
undefined: the image border, next to holes, across discontinuities) unless ``normals=False``
(the points alone). Pixels without depth
(``0``, negative, NaN, inf) are dropped, never written as points at the camera centre.

Frames and units:

* PLY and OBJ hold the camera frame of depthforge (x right, y down, z forward), in metres;
* GLB holds the glTF frame (glTF 2.0 spec §3.4: +Y up, the camera looking down −Z), i.e.
  ``(x, −y, −z)`` of the camera frame (a rotation, so windings and normals stay consistent);
* relative depth (any space but ``metric_depth``) is refused unless a scale in metres per unit
  is given (``scale_invariant_depth`` only) or ``allow_unit_scale=True`` says explicitly that
  the output is in arbitrary units; the file then says so (PLY/OBJ header comment, GLB extras).

Formats are written with libraries: ``plyfile`` for binary little-endian PLY (vertex
``x y z nx ny nz red green blue``, mesh faces as ``vertex_indices``), ``trimesh`` for OBJ and GLB.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from depthforge.apps.depth_input import (
    DEFAULT_FOV,
    DepthSource,
    resolve_intrinsics,
)
from depthforge.apps.mesh import DEFAULT_EDGE_RTOL, grid_triangles, vertex_normals_from_faces
from depthforge.errors import import_extra
from depthforge.geometry.grid_normals import DEFAULT_TOLERANCE, normal_map
from depthforge.geometry.pinhole import pinhole_rays
from depthforge.io import atomic_path, refuse_overwrite
from depthforge.render.depth import depth_in_metres
from depthforge.types import OutputSpace

SUFFIXES = (".ply", ".obj", ".glb")
CAMERA_FRAME = "camera frame: x right, y down, z forward (OpenCV)"
GLTF_FRAME = "glTF frame: x right, y up, camera looking down -z, i.e. (x, -y, -z) of the camera"
CAMERA_TO_GLTF = np.array([1.0, -1.0, -1.0])
"""The camera frame (y down, z forward) to glTF's (+Y up, −Z forward): a 180° turn about x,
as the diagonal of its rotation matrix."""


@dataclass
class PointCloud:
    """Points lifted from an RGB-D frame, optionally with the grid mesh over them.

    Attributes:
        points: ``(N, 3)`` float32 camera-frame positions, in ``units``.
        colors: ``(N, 3)`` uint8 RGB of each point's pixel.
        normals: ``(N, 3)`` float32 unit normals facing the camera (``0`` where undefined for a
            point cloud; for a mesh, filled from the adjacent faces there), or ``None`` for a
            point cloud lifted with ``normals=False``.
        pixels: ``(N,)`` int64 row-major pixel index ``v·W + u`` each point came from.
        faces: ``(F, 3)`` int64 indices into ``points`` (a mesh), or ``None`` (a point cloud).
        units: ``"metres"`` or a sentence saying the units are arbitrary and why.
    """

    points: np.ndarray
    colors: np.ndarray
    normals: np.ndarray | None
    pixels: np.ndarray
    faces: np.ndarray | None
    units: str

    @property
    def metric(self) -> bool:
        """True when ``points`` are in metres."""
        return self.units == "metres"


def check_inputs(image: np.ndarray, depth: np.ndarray, K: np.ndarray) -> None:
    """Shapes and dtypes of :func:`rgbd_to_pointcloud`'s inputs; ValueError naming the problem."""
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) RGB, got shape {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8 RGB, got dtype {image.dtype}")
    if depth.ndim != 2:
        raise ValueError(f"depth must be (H, W), got shape {depth.shape}")
    if depth.shape != image.shape[:2]:
        raise ValueError(
            f"depth is {depth.shape[1]}×{depth.shape[0]} (W×H) but the image is "
            f"{image.shape[1]}×{image.shape[0]}: they must be the same size and registered "
            "(resize the depth with the image's K, or predict depth at the image's size)"
        )
    if K.shape != (3, 3) or not np.all(np.isfinite(K)):
        raise ValueError(f"K must be a finite (3, 3) matrix, got shape {K.shape}")
    if not (K[0, 0] > 0 and K[1, 1] > 0):
        raise ValueError(f"K must have positive focal lengths, got fx={K[0, 0]}, fy={K[1, 1]}")
    if not np.array_equal(K[2], [0.0, 0.0, 1.0]) or K[1, 0] != 0.0:
        raise ValueError(
            f"K must be a pinhole matrix (upper triangular, K[2] = [0, 0, 1]), got {K.tolist()}"
        )


def lift_pixels(z: np.ndarray, K: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Closed-form back-projection of the pixels ``pixels`` of a depth map (no normals).

    ``X = z · K⁻¹ [u, v, 1]ᵀ`` (Hartley & Zisserman 2004, Eq. 6.5) with the rays ``K⁻¹ [u, v, 1]ᵀ``
    evaluated once per row and column (:func:`~depthforge.geometry.grid_normals.pinhole_rays`):
    for the pinhole ``K`` (``K[2] = [0, 0, 1]``, any skew)
    ``x = (a·u + b·v + c) z`` and ``y = (d·v + e) z`` with ``a..e`` the entries of ``K⁻¹``,
    i.e. ``x = (u − cx) z / fx`` and ``y = (v − cy) z / fy`` without skew.

    Args:
        z: ``(H, W)`` float32 depth in metres.
        K: ``(3, 3)`` float64 pinhole intrinsics in pixels (checked by :func:`check_inputs`).
        pixels: ``(N,)`` int64 row-major indices ``v·W + u`` of the pixels to lift.

    Returns:
        ``(N, 3)`` float32 camera-frame points, in the units of ``z``.

    Example:
        >>> K = np.array([[2.0, 0, 1], [0, 2.0, 1], [0, 0, 1]])
        >>> lift_pixels(np.full((3, 3), 2.0, np.float32), K, np.array([0, 5])).tolist()
        [[-1.0, -1.0, 2.0], [1.0, 0.0, 2.0]]
    """
    h, w = z.shape
    column, row_x, row_y = pinhole_rays(K, h, w)
    v, u = np.divmod(pixels, w)
    depth = np.take(z.reshape(-1), pixels)
    points = np.empty((len(pixels), 3), np.float32)
    np.multiply(column[u] + row_x[v], depth, out=points[:, 0])
    np.multiply(row_y[v], depth, out=points[:, 1])
    points[:, 2] = depth
    return points


def rgbd_to_pointcloud(
    image: np.ndarray,
    depth: np.ndarray,
    K: np.ndarray,
    *,
    output_space: OutputSpace | str,
    scale: float | None = None,
    allow_unit_scale: bool = False,
    mesh: bool = False,
    edge_rtol: float = DEFAULT_EDGE_RTOL,
    normal_tolerance: float = DEFAULT_TOLERANCE,
    normals: bool = True,
) -> PointCloud:
    """Lift an RGB-D frame to a coloured point cloud (or mesh) with normals (module docstring).

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        depth: ``(H, W)`` depth in ``output_space`` (metres for ``metric_depth``); ``≤ 0`` or
            non-finite = no measurement.
        K: ``(3, 3)`` intrinsics in pixels for this image.
        output_space: what ``depth`` is; see :func:`depth_in_metres`.
        scale: metres per unit for ``scale_invariant_depth``.
        allow_unit_scale: accept relative depth and write arbitrary units.
        mesh: also triangulate the pixel grid (:func:`depthforge.apps.mesh.grid_triangles`);
            the mesh then holds only the vertices of its kept triangles.
        edge_rtol: the discontinuity test of the mesh, ``max z / min z < 1 + edge_rtol``.
        normal_tolerance: ``tolerance`` of :func:`~depthforge.geometry.grid_normals.normal_map`.
        normals: estimate the normals of a point cloud; ``False`` lifts the points alone
            (:func:`lift_pixels`: 8 ms against 21 ms with normals at 640×480,
            ``benchmarks/pointcloud_vs_open3d.py``) and leaves ``normals`` ``None``. A mesh
            always carries normals.

    Returns:
        :class:`PointCloud` with one point per valid pixel (row-major order), or per vertex of a
        kept triangle when ``mesh``.

    Example:
        >>> K = np.array([[2.0, 0, 1], [0, 2.0, 1], [0, 0, 1]])
        >>> rgb, d = np.zeros((3, 3, 3), np.uint8), np.full((3, 3), 2.0)
        >>> d[0, 0] = 0.0  # a hole: dropped
        >>> cloud = rgbd_to_pointcloud(rgb, d, K, output_space="metric_depth")
        >>> len(cloud.points), cloud.points[0].tolist()
        (8, [0.0, -1.0, 2.0])
    """
    image = np.asarray(image)
    K = np.asarray(K, dtype=np.float64)
    # a tensor (a model's prediction) or an array, told apart without importing PyTorch
    raw = depth.detach().cpu().numpy() if hasattr(depth, "detach") else np.asarray(depth)
    check_inputs(image, raw, K)
    z, units = depth_in_metres(raw, output_space, scale=scale, allow_unit_scale=allow_unit_scale)
    valid = np.isfinite(z) & (z > 0)
    if not valid.any():
        raise ValueError(
            "depth has no valid pixel (all 0, negative or non-finite): nothing to lift"
        )
    colors = image.reshape(-1, 3)
    if not mesh and not normals:
        pixels = np.flatnonzero(valid)
        return PointCloud(
            points=lift_pixels(z, K, pixels),
            colors=np.take(colors, pixels, axis=0),  # a row gather, 8× faster than colors[pixels]
            normals=None,
            pixels=pixels,
            faces=None,
            units=units,
        )
    z = np.where(valid, z, np.float32(0.0)).astype(np.float32)
    h, w = z.shape
    if h >= 3 and w >= 3:
        normals, normal_ok = normal_map(z, K, valid, tolerance=normal_tolerance)
        normals, normal_ok = normals.reshape(-1, 3), normal_ok.reshape(-1)  # (H·W, 3), (H·W,)
    else:
        normals = np.zeros((h * w, 3), np.float32)
        normal_ok = np.zeros(h * w, bool)
    if not mesh:
        pixels = np.flatnonzero(valid)
        return PointCloud(
            points=lift_pixels(z, K, pixels),
            colors=np.take(colors, pixels, axis=0),
            normals=np.take(normals, pixels, axis=0),
            pixels=pixels,
            faces=None,
            units=units,
        )
    grid_faces = grid_triangles(z, rtol=edge_rtol)
    used = np.zeros(h * w, dtype=bool)
    used[grid_faces] = True
    pixels = np.flatnonzero(used)  # the vertices of kept triangles, in row-major pixel order
    lookup = np.full(h * w, -1, dtype=np.int64)
    lookup[pixels] = np.arange(len(pixels))
    faces = lookup[grid_faces]
    points = lift_pixels(z, K, pixels)
    # Where the depth normal is undefined (borders, next to holes), the faces still define one.
    from_faces = vertex_normals_from_faces(points, faces)
    vertex_normals = np.where(normal_ok[pixels, None], normals[pixels], from_faces)
    return PointCloud(
        points=points,
        colors=np.ascontiguousarray(colors[pixels]),
        normals=np.ascontiguousarray(vertex_normals, dtype=np.float32),
        pixels=pixels,
        faces=faces,
        units=units,
    )


def header_comments(cloud: PointCloud, frame: str) -> list[str]:
    """The comment lines every output carries: what it is, its frame and its units (ASCII)."""
    kind = "mesh" if cloud.faces is not None else "point cloud"
    if cloud.normals is None:
        normals = "no normals"
    else:
        normals = "normals (0,0,0) = undefined" if cloud.faces is None else "normals from depth"
    return [f"depthforge RGB-D {kind}", frame, f"units: {cloud.units}", normals]


def write_ply(cloud: PointCloud, path: str | Path) -> Path:
    """Binary little-endian PLY with ``plyfile`` (vertex x y z nx ny nz red green blue; faces)."""
    plyfile = import_extra("plyfile", "mesh", f"{Path(path).name}: writing PLY")
    PlyData, PlyElement = plyfile.PlyData, plyfile.PlyElement  # noqa: N806 (the package's names)

    normal_fields = [] if cloud.normals is None else [("nx", "<f4"), ("ny", "<f4"), ("nz", "<f4")]
    vertex = np.empty(
        len(cloud.points),
        dtype=[
            ("x", "<f4"),
            ("y", "<f4"),
            ("z", "<f4"),
            *normal_fields,
            ("red", "u1"),
            ("green", "u1"),
            ("blue", "u1"),
        ],
    )
    for i, name in enumerate("xyz"):
        vertex[name] = cloud.points[:, i]
        if cloud.normals is not None:
            vertex["n" + name] = cloud.normals[:, i]
    for i, name in enumerate(("red", "green", "blue")):
        vertex[name] = cloud.colors[:, i]
    elements = [PlyElement.describe(vertex, "vertex")]
    if cloud.faces is not None:
        face = np.empty(len(cloud.faces), dtype=[("vertex_indices", "<i4", (3,))])
        face["vertex_indices"] = cloud.faces
        element = PlyElement.describe(
            face, "face", len_types={"vertex_indices": "u1"}, val_types={"vertex_indices": "i4"}
        )
        # plyfile writes list properties one row at a time in Python (~2 s for 400k faces); the
        # rows are fixed-length here, so write the very same bytes (uchar 3, int ×3) in one block.
        element._write_bin = functools.partial(write_triangles_bin, cloud.faces)
        elements.append(element)
    ply = PlyData(
        elements, text=False, byte_order="<", comments=header_comments(cloud, CAMERA_FRAME)
    )
    with atomic_path(path) as tmp:
        ply.write(str(tmp))
    return Path(path)


def write_triangles_bin(faces: np.ndarray, stream, byte_order: str) -> None:
    """The binary body of a PLY ``face`` element ``list uchar int vertex_indices`` of
    triangles: per face the count ``3`` (uchar) and three vertex indices (int32)."""
    rows = np.empty(len(faces), dtype=[("count", "u1"), ("index", byte_order + "i4", (3,))])
    rows["count"] = 3
    rows["index"] = faces
    stream.write(rows.tobytes())


def to_trimesh(cloud: PointCloud, flip: np.ndarray | None = None):
    """A ``trimesh.Trimesh`` (mesh) or ``trimesh.PointCloud`` of ``cloud``; ``flip`` is the
    ``(3,)`` diagonal of an axis-aligned rotation applied to points and normals."""
    trimesh = import_extra("trimesh", "mesh", "writing OBJ or GLB")

    points = cloud.points.astype(np.float64)
    if flip is not None:
        points = points * flip
    rgba = np.concatenate([cloud.colors, np.full((len(cloud.colors), 1), 255, np.uint8)], axis=1)
    if cloud.faces is None:
        return trimesh.PointCloud(points, colors=rgba)
    return trimesh.Trimesh(
        vertices=points,
        faces=cloud.faces,
        vertex_normals=cloud.normals.astype(np.float64) * (1.0 if flip is None else flip),
        vertex_colors=rgba,
        process=False,
    )


def write_obj(cloud: PointCloud, path: str | Path) -> Path:
    """Wavefront OBJ with ``trimesh`` (``v x y z r g b``, ``vn``, ``f``), camera frame."""
    from trimesh.exchange.obj import export_obj

    geometry = to_trimesh(cloud)
    header = " | ".join(header_comments(cloud, CAMERA_FRAME))
    if cloud.faces is None:
        # trimesh's OBJ writer takes meshes only; a face-less Trimesh keeps the colours.
        import trimesh

        geometry = trimesh.Trimesh(
            vertices=geometry.vertices,
            faces=np.zeros((0, 3), np.int64),
            vertex_colors=geometry.colors,
            process=False,
        )
    text = export_obj(geometry, include_normals=cloud.faces is not None, header=header)
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_glb(cloud: PointCloud, path: str | Path) -> Path:
    """Binary glTF with ``trimesh``, in the glTF frame ``(x, −y, −z)`` (module docstring)."""
    import trimesh

    scene = trimesh.Scene(to_trimesh(cloud, CAMERA_TO_GLTF))
    scene.metadata.update({"generator": "depthforge", "frame": GLTF_FRAME, "units": cloud.units})
    data = scene.export(file_type="glb", include_normals=cloud.faces is not None)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


WRITERS = {".ply": write_ply, ".obj": write_obj, ".glb": write_glb}


def save_pointcloud(cloud: PointCloud, path: str | Path) -> Path:
    """Write ``cloud`` atomically in the format of ``path``'s suffix (``.ply``, ``.obj``, ``.glb``)."""
    suffix = Path(path).suffix.lower()
    if suffix not in WRITERS:
        raise ValueError(
            f"{path}: unknown point-cloud format {suffix or '(no suffix)'!r}; "
            f"use one of {', '.join(SUFFIXES)}"
        )
    return WRITERS[suffix](cloud, path)


def write_pointcloud(
    image: np.ndarray,
    depth: np.ndarray,
    K: np.ndarray,
    path: str | Path,
    *,
    output_space: OutputSpace | str,
    scale: float | None = None,
    allow_unit_scale: bool = False,
    mesh: bool = False,
    edge_rtol: float = DEFAULT_EDGE_RTOL,
    normal_tolerance: float = DEFAULT_TOLERANCE,
    normals: bool = True,
) -> PointCloud:
    """Lift an RGB-D frame (:func:`rgbd_to_pointcloud`) and write it by suffix (.ply/.obj/.glb).

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        depth: ``(H, W)`` depth in ``output_space`` (metres for ``metric_depth``), 0 = hole.
        K: ``(3, 3)`` intrinsics in pixels.
        path: output file; its suffix picks the format. Written atomically.
        output_space, scale, allow_unit_scale, mesh, edge_rtol, normal_tolerance, normals: as
            in :func:`rgbd_to_pointcloud`; without normals the PLY has no ``nx ny nz``.

    Returns:
        The :class:`PointCloud` that was written.

    Example:
        >>> import tempfile, pathlib
        >>> K = np.array([[2.0, 0, 1], [0, 2.0, 1], [0, 0, 1]])
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "cloud.ply"
        >>> rgb, d = np.zeros((3, 3, 3), np.uint8), np.full((3, 3), 2.0)
        >>> len(write_pointcloud(rgb, d, K, out, output_space="metric_depth").points)
        9
    """
    suffix = Path(path).suffix.lower()
    if suffix not in WRITERS:
        raise ValueError(
            f"{path}: unknown point-cloud format {suffix or '(no suffix)'!r}; "
            f"use one of {', '.join(SUFFIXES)}"
        )
    cloud = rgbd_to_pointcloud(
        image,
        depth,
        K,
        output_space=output_space,
        scale=scale,
        allow_unit_scale=allow_unit_scale,
        mesh=mesh,
        edge_rtol=edge_rtol,
        normal_tolerance=normal_tolerance,
        normals=normals,
    )
    save_pointcloud(cloud, path)
    return cloud


@dataclass
class PointCloudSummary:
    """What :func:`pointcloud_command` wrote.

    Attributes:
        path: the output file.
        points: vertices written.
        faces: triangles written (0 for a point cloud).
        valid_pixels: pixels with depth.
        units: ``"metres"`` or the note on arbitrary units.
        output_space: the space of the depth that was lifted.
        assumed_fov: the horizontal field of view (degrees) taken for want of ``intrinsics``
            and ``fov``, else None.
    """

    path: Path
    points: int
    faces: int
    valid_pixels: int
    units: str
    output_space: OutputSpace
    assumed_fov: float | None = None

    def line(self) -> str:
        """One line for the CLI."""
        what = f"{self.points} points"
        if self.faces:
            what = f"{self.points} vertices, {self.faces} triangles"
        text = f"wrote {self.path}: {what} from {self.valid_pixels} pixels with depth, {self.units}"
        if self.assumed_fov is not None:
            text += f"; camera: a {self.assumed_fov:g}° field of view assumed (--fov, --intrinsics)"
        return text


def pointcloud_command(
    image: str | Path,
    out: str | Path,
    source: DepthSource,
    *,
    intrinsics: str | Path | None = None,
    fov: float | None = None,
    mesh: bool = False,
    scale: float | None = None,
    allow_unit_scale: bool = False,
    edge_rtol: float = DEFAULT_EDGE_RTOL,
    normals: bool = True,
    overwrite: bool = False,
) -> PointCloudSummary:
    """``depthforge pointcloud``: an image plus its depth (a file, or a model's prediction) → file.

    Args:
        image: the RGB photo.
        out: ``.ply``, ``.obj`` or ``.glb`` output (refused if it exists, unless ``overwrite``).
        source: where the depth comes from (a file in metres, or a model whose prediction's
            output space is checked as for any depth).
        intrinsics, fov: the camera (:func:`~depthforge.apps.depth_input.resolve_intrinsics`);
            neither: :data:`~depthforge.apps.depth_input.DEFAULT_FOV`, said in the summary.
        mesh, scale, allow_unit_scale, edge_rtol, normals: as in :func:`write_pointcloud`;
            normals stay on by default: viewers shade a point cloud by them and surface
            reconstruction (Poisson, ball pivoting) needs them.
        overwrite: replace an existing ``out``.

    Returns:
        :class:`PointCloudSummary` (its :meth:`~PointCloudSummary.line` is what to print).

    Raises:
        DataError, ValueError, OutputSpaceError: bad input, each naming the file or argument.
    """
    from depthforge.io import read_rgb

    out = Path(out)
    if out.suffix.lower() not in WRITERS:
        raise ValueError(
            f"{out}: unknown point-cloud format {out.suffix or '(no suffix)'!r}; "
            f"use one of {', '.join(SUFFIXES)}"
        )
    refuse_overwrite(out, overwrite)
    rgb = read_rgb(image)
    height, width = rgb.shape[:2]
    K = resolve_intrinsics(width, height, intrinsics=intrinsics, fov=fov)
    z, space, _ = source.read(rgb, image)
    cloud = write_pointcloud(
        rgb,
        z,
        K,
        out,
        output_space=space,
        scale=scale,
        allow_unit_scale=allow_unit_scale,
        mesh=mesh,
        edge_rtol=edge_rtol,
        normals=normals,
    )
    return PointCloudSummary(
        path=out,
        points=len(cloud.points),
        faces=0 if cloud.faces is None else len(cloud.faces),
        valid_pixels=int(np.count_nonzero(np.isfinite(z) & (z > 0))),
        units=cloud.units,
        output_space=space,
        assumed_fov=DEFAULT_FOV if intrinsics is None and fov is None else None,
    )
