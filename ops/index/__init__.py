"""`inv index.*`: transcriptome indices for RNA-seq quantification."""
