"""hwgen.dataflow"""
