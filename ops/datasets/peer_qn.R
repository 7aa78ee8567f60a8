# The peer's normalisation in `inv bench.datasets`: R's preprocessCore on the joined matrix.
# Usage: Rscript peer_qn.R MATRIX TARGET OUT — MATRIX and OUT are raw doubles in R's column
# order with MATRIX.genes and MATRIX.samples beside; NaN (the join's missing values) is made
# NA, which is what preprocessCore leaves out. Prints its peak memory in MB (VmHWM).
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(preprocessCore))
genes <- length(readLines(paste0(args[1], ".genes")))
samples <- length(readLines(paste0(args[1], ".samples")))
x <- matrix(readBin(args[1], "double", n = genes * samples), nrow = genes, ncol = samples)
x[is.nan(x)] <- NA
target <- scan(args[2], quiet = TRUE)
normalized <- normalize.quantiles.use.target(x, target)
writeBin(as.vector(normalized), args[3])
status <- readLines("/proc/self/status")
hwm <- as.numeric(strsplit(trimws(sub("VmHWM:", "", grep("^VmHWM:", status, value = TRUE))), " ")[[1]][1])
cat(sprintf('{"peak_rss_mb": %.1f}\n', hwm / 1024))
