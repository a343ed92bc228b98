"""RGB-D applications: depth of field, point clouds and meshes, completion, parallax."""
