"""leadhooks benchmarks (`make bench`, docs/benchmarks.md). Nothing here is deployed."""
