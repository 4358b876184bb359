"""Hand-written text templates filled by hwgen (installed as ``hwgen.rtl_templates``)."""
