"""Evaluation against gold: gold sets, stored runs, scoring, statistics, comparisons and reports.

`predict` runs the extractor over a gold set and stores the run; `score_run` scores a stored
run in one streaming pass; `compare_runs` sets two runs side by side; `scoring/` holds the
scorer and its statistics, `reports/` what people read.
"""
