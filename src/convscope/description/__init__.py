"""Descriptions: files, zoo ids, one-line forms -> validated graphs."""

from .load import load, load_description, read_file
from .parse import parse

__all__ = ["load", "load_description", "parse", "read_file"]
