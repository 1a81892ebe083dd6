"""Evaluation harnesses: multi-hop passage recall (MuSiQue/HippoRAG and HotpotQA shapes)."""
