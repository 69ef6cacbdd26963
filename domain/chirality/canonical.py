"""The canonical inputs and the stations of every matrix (chirality-canonical.md)."""

from __future__ import annotations

from domain.chirality.matrix import Matrix, build

# Station strings, exactly as the framework writes them.
STATIONS: dict[str, str] = {
    "A": "Problem Statement",
    "B": "Problem Statement",
    "J": "Verification",
    "C": "Problem Requirements",
    "F": "Solution Objectives",
    "D": "Solution Objectives",
    "K": "Pre-Verification Transform",
    "X": "Verification",
    "Z": "Validation",
    "G": "Evaluation Input",
    "T": "Evaluation Criteria",
    "P": "Evaluation Context",
    "E": "Evaluation",
}

# Every matrix of a run, in the order the framework computes them.
ORDER: tuple[str, ...] = ("A", "B", "J", "C", "F", "D", "K", "X", "Z", "G", "T", "P", "E")

# The matrices that are snapshotted (the manifest's C, D, X and E) and their record counts.
SNAPSHOT_MATRICES: tuple[str, ...] = ("C", "D", "X", "E")
SNAPSHOT_RECORDS: dict[str, int] = {"C": 12, "D": 12, "X": 16, "E": 9}

A_ROWS = ("Normative", "Operative", "Evaluative")
A_COLS = ("Guiding", "Applying", "Judging", "Reviewing")
B_ROWS = ("Data", "Information", "Knowledge", "Wisdom")
B_COLS = ("Necessity (vs Contingency)", "Sufficiency", "Completeness", "Consistency")

MATRIX_A: Matrix = build("A", STATIONS["A"], A_ROWS, A_COLS, [
    ["Direction", "Implementation", "Evaluation", "Assessment"],
    ["Leadership", "Execution", "Decision-making", "Quality Control"],
    ["Standards", "Performance", "Feedback", "Refinement"],
])

MATRIX_B: Matrix = build("B", STATIONS["B"], B_ROWS, B_COLS, [
    ["Essential Facts", "Adequate Inputs", "Comprehensive Records", "Reliable Records"],
    ["Critical Context", "Sufficient Detail", "Holistic View", "Congruent Patterns"],
    ["Fundamental Understanding", "Adequate Insight", "Full Comprehension",
     "Coherent Framework"],
    ["Vital Judgment", "Sound Reasoning", "Thorough Prudence", "Harmonious Principles"],
])

D_SENTENCE = ("{a} applied to frame the problem of generating reliable knowledge; "
              "{f} to resolve the problem.")
