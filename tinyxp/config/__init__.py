"""Composition: the command-line grammar and sweeps, config files, interpolation, the xp settings."""
