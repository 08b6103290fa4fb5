"""hybridize.tracer"""
