"""hybridize.planner"""
