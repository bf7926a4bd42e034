"""Routes: HTML pages and the JSON API."""
