"""kldigital-site: static site generator for a city digital agency."""

__version__ = "0.1.0"
