"""One router per subject of the JSON API."""
