"""Inference: run folders loaded for scoring, one engine protocol for every kind of run, streaming
predict, ONNX export, embeddings, and a picklable batch scorer for distributed engines."""
