"""The bad-input corpus: hand-written cases and hypothesis strategies, each a directory that
``gitops-agent validate`` reads, with what it must answer. Run by
``tests/core/test_bad_input_corpus.py``."""
