"""One router per resource: health, extract, jobs, documents."""
