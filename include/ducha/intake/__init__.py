"""Reading what clerks send: workbooks and CSV files into normalised case rows."""

from ducha.intake.parse import CaseRow, ParsedFile, parse_file

__all__ = ["CaseRow", "ParsedFile", "parse_file"]
