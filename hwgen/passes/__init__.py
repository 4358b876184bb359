"""hwgen.passes"""
