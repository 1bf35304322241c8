"""The package version (the bottom layer: imported by the CLI and the renderers alike)."""

__version__ = "0.1.0"
