"""Input and output at the edge: reading and validating events, writing results."""
