"""Image formation from RGB-D: the thin-lens model, depth of field (and its differentiable
variant used in training), forward warping to novel views, stereo pairs and anaglyphs, linear
light. Data wrappers, training strategies and the application commands all use this library;
it imports nothing above :mod:`depthforge.eval`."""
