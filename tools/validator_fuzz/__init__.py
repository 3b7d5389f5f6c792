"""Mutation fuzzer of wasmaot's decoder and validator; see README.md."""
