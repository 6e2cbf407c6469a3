"""Scale benchmarks and load scripts (`make bench`); not part of the test suite."""
