"""hybridize.static"""
