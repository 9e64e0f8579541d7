"""Model clients behind one interface (ModelClient), named by spec strings."""
