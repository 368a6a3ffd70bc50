"""Many documents: one `Engine` interface (here, on Ray, through the Batch API, on a service) and result files."""
