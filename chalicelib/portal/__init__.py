"""The referencing portal: publishers and the commission in the browser (HTML pages)."""
