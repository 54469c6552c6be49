"""Retrieval evaluation: IR metrics, the own question set, and BEIR datasets."""
