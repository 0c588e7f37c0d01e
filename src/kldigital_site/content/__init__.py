"""Reading content: discover files, split front matter, parse YAML with positions, validate."""
