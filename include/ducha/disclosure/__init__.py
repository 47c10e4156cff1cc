"""Published disclosure files: redaction of personal data (redact) and atomic, deterministic,
print-ready writers for XLSX, CSV, HTML and the manifest (writers)."""
