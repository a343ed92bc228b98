"""Released checkpoints of the papers: records, converters from their original formats, loading."""
