"""OCR: the text of scans (images, PDF pages without a text layer) read with Tesseract.

Tesseract runs as a subprocess, one at a time in each worker process (one per core), with
OMP_THREAD_LIMIT=1: its own threads made a page 4x slower under contention on a 2-core machine
(27 s against 6.8 s). Each page is bounded by a real timeout (the subprocess is killed), and the
text becomes a text record of its own (source "ocr") with Tesseract's mean word confidence.
"""
