"""Images: credits, responsive variants, safe originals, press-photo archives (issue 12)."""
