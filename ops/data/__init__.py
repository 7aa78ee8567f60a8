"""`inv data.*`: deleting imported data safely and recovering an interrupted deletion."""
