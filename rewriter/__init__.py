"""hybridize.rewriter"""
