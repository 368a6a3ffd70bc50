"""Keeping answers to the text.

`align` finds every quote and name of an answer in the source text (exact, normalised,
fuzzy) and `refine` tightens a fuzzy window's edges. For small models, `candidates` and
`values` read what a document supports and `decoding` builds the per-document answer model
whose grammar allows nothing else.
"""
