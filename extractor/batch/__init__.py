"""Many documents: bounded concurrency, result files, the OpenAI Batch API and Ray."""
