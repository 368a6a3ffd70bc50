"""Reports for people: terminal tables, Markdown, and self-contained HTML pages.

Reports only render numbers computed elsewhere (`extractor.eval.scoring`); every piece of
article text and model output in HTML goes through jinja2's autoescaping.
"""
