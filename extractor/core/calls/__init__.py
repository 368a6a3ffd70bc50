"""Model calls: transport retries, instructor at the edge, continuations, strategies, accounting.

Everything between "these messages, this response model" and "a validated answer or a clear
failure" lives here; the pipeline composes it.
"""
