"""The command line's terminal and file edge: progress bars, writing reports."""
