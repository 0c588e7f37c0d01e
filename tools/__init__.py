"""Developer tools that are not part of the build tool (sample photos)."""
