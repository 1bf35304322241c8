"""Teaching tools: worked convolutions, step-by-step explanations, comparisons."""
