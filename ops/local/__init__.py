"""`inv local.*`: the embedded environment and its demo (synthetic delivery, QC report)."""
