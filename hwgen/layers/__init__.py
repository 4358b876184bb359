"""hwgen.layers"""
