"""Static, offline HTML: one report per run and a hub over all runs."""
