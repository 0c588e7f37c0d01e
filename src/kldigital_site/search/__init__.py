"""Full-text search: sharding of the index, the Pagefind client and the canonical form
of its bundles, and the indexer that runs beside rendering."""
