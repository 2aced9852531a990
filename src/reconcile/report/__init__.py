"""Reports of a run: the review workbook (written, and read back for approval), the console summary, a flow's checklist.

openpyxl is used here and nowhere else in reconcile.
"""
