"""Model calls: transport retries, continuations, strategies, accounting, the call log (`log`), guided
reading (`guided`: rules instead of the model), and `sdk` (instructor and openai's insides).

Everything between "these messages, this response model" and "a validated answer or a clear
failure" lives here; the pipeline composes it.
"""
