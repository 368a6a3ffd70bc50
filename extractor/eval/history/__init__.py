"""Run history: scored eval runs kept in the store, compared in pairs, as a prompts × models grid, per document.

- `record`: a scored run as a store row (from `extractor eval`, a run directory, or the API);
- `book`: recording, importing and looking runs up in a `Store`;
- `compare`: the paired comparison of two recorded runs (the statistics of `scoring.paired`);
- `grid`: the latest run of every prompt × model pair against a baseline;
- `documents`: where runs disagree or fail, and one document with gold and every run side by side.
"""
