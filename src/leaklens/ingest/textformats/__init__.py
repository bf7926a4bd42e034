"""One small text extractor per document format; ``leaklens.ingest.text`` picks one by MIME type."""
